package main

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/99designs/gqlgen/codegen"
)

// plainLeaf is a field whose value, a scalar or an enum, is read from a Go field or from a
// method that takes no context and no arguments and returns no error, with no directive.
// gqlgen resolves each such field with a field context, a context and three closures,
// about ten allocations, and most of a list's fields are such fields (500 on a 50-row page
// of ten columns). Where its value cannot fail, the generated executor marshals it
// straight from the value instead; what can fail (a null or zero time where the schema
// allows none, a method that panics) still goes gqlgen's way from the start, which reports
// it at the field's path. An operation whose fields are intercepted
// (notifyql.FieldsIntercepted, which the server sets when it has field interceptors) goes
// gqlgen's way for every field, so that they see every field.
type plainLeaf struct {
	object, field string
	// value is the Go expression of the field's value, read from obj.
	value string
	// method is whether value calls a method, which may panic.
	method bool
	// marshal is the executor's marshaller of the field's type.
	marshal string
	// written is the condition under which marshal cannot fail: it reports a null in the
	// parent's place when a non-null field is nil or the zero time.
	written string
}

func plainLeafOf(f *codegen.Field) (plainLeaf, bool) {
	if f.IsResolver || f.MethodHasContext || len(f.Args) > 0 || f.HasDirectives() || f.IsMap() ||
		f.HasHaser || f.VOkFunc || f.Stream || !plainLeafType(f.TypeReference) {
		return plainLeaf{}, false
	}
	leaf := plainLeaf{
		object:  f.Object.Name,
		field:   f.Name,
		marshal: f.TypeReference.MarshalFunc(),
		written: "true",
	}
	switch {
	case f.IsVariable():
		leaf.value = f.GoReceiverName + "." + f.GoFieldName
	case f.IsMethod() && f.NoErr:
		leaf.value, leaf.method = f.GoReceiverName+"."+f.GoFieldName+"()", true
	default:
		return plainLeaf{}, false
	}
	if f.TypeReference.GQL.NonNull {
		isTime := f.TypeReference.Definition.Name == "Time"
		switch {
		case f.TypeReference.IsPtr() && isTime:
			leaf.written = "v != nil && !v.IsZero()"
		case f.TypeReference.IsPtr():
			leaf.written = "v != nil"
		case isTime:
			leaf.written = "!v.IsZero()"
		}
	}
	return leaf, true
}

// insert puts the plain way at the top of the leaf's resolver in the generated executor,
// src; for a method, in a function of its own after it, which recovers from a panic.
func (l plainLeaf) insert(src []byte) ([]byte, error) {
	name := "_" + l.object + "_" + l.field
	header := regexp.MustCompile(`(?m)^func \(ec \*executionContext\) ` + regexp.QuoteMeta(name) +
		`\(ctx context\.Context, field graphql\.CollectedField, obj (\S+)\) \(ret graphql\.Marshaler\) \{\n`)
	loc := header.FindSubmatchIndex(src)
	if loc == nil {
		return nil, fmt.Errorf("no resolver %s for the plain leaf %s.%s: gqlgen's generated code changed", name, l.object, l.field)
	}
	objType := string(src[loc[2]:loc[3]])
	var top, after string
	if l.method {
		top = fmt.Sprintf("\tif !notifyql.FieldsIntercepted(ctx) {\n\t\tif m := ec.%s_plain(ctx, field, obj); m != nil {\n\t\t\treturn m\n\t\t}\n\t}\n", name)
		after = fmt.Sprintf(`
// %[1]s_plain marshals %[2]s.%[3]s from its value, or reports nil for gqlgen's way: when
// the value is null where the schema allows none, or the method panicked.
func (ec *executionContext) %[1]s_plain(ctx context.Context, field graphql.CollectedField, obj %[4]s) (m graphql.Marshaler) {
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	%[5]s
}
`, name, l.object, l.field, objType, l.methodBody())
	} else if l.written == "true" {
		top = fmt.Sprintf("\tif !notifyql.FieldsIntercepted(ctx) {\n\t\treturn ec.%s(ctx, field.Selections, %s)\n\t}\n", l.marshal, l.value)
	} else {
		top = fmt.Sprintf("\tif v := %s; %s && !notifyql.FieldsIntercepted(ctx) {\n\t\treturn ec.%s(ctx, field.Selections, v)\n\t}\n", l.value, l.written, l.marshal)
	}
	end := bytes.Index(src[loc[1]:], []byte("\n}\n"))
	if end < 0 {
		return nil, fmt.Errorf("the resolver %s does not end", name)
	}
	end += loc[1] + len("\n}\n")
	var out bytes.Buffer
	out.Grow(len(src) + len(top) + len(after))
	out.Write(src[:loc[1]])
	out.WriteString(top)
	out.Write(src[loc[1]:end])
	out.WriteString(after)
	out.Write(src[end:])
	return out.Bytes(), nil
}

// methodBody is the end of a method leaf's plain function: the marshalled value, or nil
// where it cannot be written.
func (l plainLeaf) methodBody() string {
	if l.written == "true" {
		return fmt.Sprintf("return ec.%s(ctx, field.Selections, %s)", l.marshal, l.value)
	}
	return fmt.Sprintf("if v := %s; %s {\n\t\treturn ec.%s(ctx, field.Selections, v)\n\t}\n\treturn nil", l.value, l.written, l.marshal)
}
