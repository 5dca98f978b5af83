// gqlgenerate runs gqlgen as `go run github.com/99designs/gqlgen generate` does, with the
// project's gqlgen.yml, then routes the generated executor's concurrency through
// graph/marshallist.go, which skips goroutines where nothing can wait on I/O:
//
//   - every list of objects is marshalled by graph's marshalList instead of
//     graphql.MarshalSliceConcurrently (a goroutine per element);
//   - every field gqlgen would resolve concurrently (a resolver, or a method taking a
//     context) is scheduled by graph's resolveField instead of FieldSet.ResolveConcurrently;
//   - an object's group of @defer'd fields is made by resolveField when the object has
//     one, instead of for every object;
//   - a scalar or enum field read from a Go field or a context-free method is marshalled
//     straight from its value where the value cannot fail (plainLeaf), before gqlgen's
//     field context, context and closures;
//   - an object without deferred fields is written by graph's objectFields.
//
// Both keep gqlgen's behaviour unless the selection allows otherwise, which they decide at
// run time from graph/concurrentfields_gen.go: the fields gqlgen resolves concurrently, as its
// own codegen data says (Field.IsConcurrent), written here. The rewrite is five exact
// replacements in graph/generated.go and one insertion per plain leaf field; a gqlgen upgrade that changes the generated shape
// fails generation here rather than quietly bringing the goroutines back. A query's and a
// mutation's answer start in a buffer of the size answers have had (graph/responsebuffer.go).
package main

import (
	"bytes"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"

	"github.com/99designs/gqlgen/api"
	"github.com/99designs/gqlgen/codegen"
	"github.com/99designs/gqlgen/codegen/config"
	"github.com/vektah/gqlparser/v2/ast"
)

// rewrites are the generated calls that start goroutines, and what replaces them. Each must
// occur in the generated executor: its absence means gqlgen changed what it writes.
var rewrites = []struct{ gqlgen, graph string }{
	{"graphql.MarshalSliceConcurrently(ctx, ", "marshalList(ctx, sel, "},
	{"out.ResolveConcurrently(ec.OperationContext, ", "resolveField(ctx, out, field, ec.OperationContext, "},
	// An object's group of @defer'd fields costs its path, a field set and a map, every
	// object of every response; resolveField makes it on the object's first deferred field.
	{"deferred := graphql.NewDeferredGroup(ctx)", "var deferred graphql.DeferredGroup"},
	// gqlgen writes an object through an iterator that allocates each field it yields and
	// a map of the names written; objectFields writes the same JSON without them.
	{"\treturn out\n}\n", "\treturn objectFields(fields, out, &deferred)\n}\n"},
	// A query's or a mutation's answer grows its buffer from nothing, copying it at every
	// doubling (57 KB of copies for a 12 KB page); responseBuffer starts it at the size
	// of the answers before it.
	{"\t\t\tvar buf bytes.Buffer\n\t\t\tdata.MarshalGQL(&buf)\n", "\t\t\tbuf := responseBuffer()\n\t\t\tdata.MarshalGQL(buf)\n\t\t\trememberResponseSize(buf.Len())\n"},
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gqlgenerate:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.LoadConfigFromDefaultLocations()
	if err != nil {
		return err
	}
	// As gqlgen's command does: its codegen logs every resolver it adds.
	log.SetOutput(io.Discard)
	fields := &concurrentFields{
		path: filepath.Join(filepath.Dir(cfg.Exec.Filename), "concurrentfields_gen.go"),
		pkg:  cfg.Exec.Package,
	}
	if err := api.Generate(cfg, api.AddPlugin(fields)); err != nil {
		return err
	}
	return rewriteExecutor(cfg.Exec.Filename, fields.leaves)
}

func rewriteExecutor(path string, leaves []plainLeaf) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for _, r := range rewrites {
		if !bytes.Contains(src, []byte(r.gqlgen)) {
			return fmt.Errorf("%s has no %q: gqlgen's generated code changed, update the rewrite", path, r.gqlgen)
		}
		src = bytes.ReplaceAll(src, []byte(r.gqlgen), []byte(r.graph))
	}
	for _, leaf := range leaves {
		if src, err = leaf.insert(src); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	src, err = format.Source(src)
	if err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}

// concurrentFields is a gqlgen plugin that records, from the codegen data, which object
// fields gqlgen resolves concurrently, and writes them before gqlgen writes and compiles
// the executor, which then finds them.
type concurrentFields struct {
	path, pkg string
	// leaves are the fields that get a plain way, found in the codegen data.
	leaves []plainLeaf
}

func (p *concurrentFields) Name() string { return "concurrentfields" }

func (p *concurrentFields) GenerateCode(data *codegen.Data) error {
	var names []string
	fieldDirectives := len(data.AllDirectives.LocationDirectives("FIELD")) > 0
	for _, object := range data.Objects {
		if object.Root {
			continue
		}
		for _, field := range object.Fields {
			if field.IsConcurrent() {
				names = append(names, object.Name+"."+field.Name)
			}
			if leaf, ok := plainLeafOf(field); ok && !fieldDirectives {
				p.leaves = append(p.leaves, leaf)
			}
		}
	}
	slices.Sort(names)
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by graph/internal/gqlgenerate, DO NOT EDIT.\n\npackage %s\n\n", p.pkg)
	b.WriteString("// concurrentFields names the object fields gqlgen resolves concurrently: resolvers and\n")
	b.WriteString("// methods taking a context, the fields that may wait on I/O.\n")
	b.WriteString("var concurrentFields = map[string]bool{\n")
	for _, name := range names {
		fmt.Fprintf(&b, "\t%q: true,\n", name)
	}
	b.WriteString("}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		return err
	}
	return os.WriteFile(p.path, src, 0o644)
}

// plainLeafType reports whether a field of type ref marshals without its context: an enum,
// or a scalar whose marshaller does not keep the context to report a failure when written
// (as a Float that is not a number does). A Time reports a null of its own for the zero
// time, which plainLeaf's check leaves to gqlgen.
func plainLeafType(ref *config.TypeReference) bool {
	if ref == nil || ref.Definition == nil {
		return false
	}
	switch ref.Definition.Kind {
	case ast.Enum:
		return true
	case ast.Scalar:
		switch ref.Definition.Name {
		case "String", "ID", "Int", "Boolean", "Time":
			return true
		}
	}
	return false
}
