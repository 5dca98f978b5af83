package resolvers

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/vektah/gqlparser/v2"

	"notifyql"
	"notifyql/graph"
)

func TestAudienceOfASelection(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for _, tc := range []struct {
		name, query string
		want        audience
	}{
		{"totals", `subscription { dashboardTotals(serviceId: "x") { email { requested delivered } } }`, everyone},
		{"template statistics with their templates", `subscription { templateStatistics(serviceId: "x") { templateId count template { name version } } }`, everyone},
		{"upcoming jobs", `subscription { upcomingJobs(serviceId: "x") { id originalFileName scheduledFor } }`, everyone},
		{"a notification's unguarded fields", `subscription { notification(id: "x") { id status } }`, everyone},
		{"a field under @hasPermission", `subscription { notification(id: "x") { id statusHistory { status } } }`, sameAccess},
		{"a field that checks the caller in its resolver", `subscription { notification(id: "x") { sentBy } }`, sameAccess},
		{"links signed for the caller", `subscription { notification(id: "x") { letter { preview { pdfUrl } } } }`, sameUser},
		{"in a fragment", `subscription { notification(id: "x") { ...F } } fragment F on Notification { sentBy }`, sameAccess},
		{"in a fragment inside a fragment", `subscription { notification(id: "x") { ...F } } fragment F on Notification { ...G } fragment G on Notification { letter { preview { pdfUrl } } }`, sameUser},
		{"in an inline fragment", `subscription { notification(id: "x") { ... on Notification { sentBy } } }`, sameAccess},
		{"the narrowest wins", `subscription { notification(id: "x") { id sentBy letter { preview { pdfUrl } } statusHistory { status } } }`, sameUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(schema, tc.query)
			if errs != nil {
				t.Fatalf("the query is not valid: %v", errs)
			}
			if got := audienceOf(doc.Operations[0].SelectionSet); got != tc.want {
				t.Errorf("audience %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEveryListedCallerFieldIsInTheSchema(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	for name := range callerFields {
		typ, field, _ := strings.Cut(name, ".")
		def := schema.Types[typ]
		if def == nil || def.Fields.ForName(field) == nil {
			t.Errorf("callerFields names %s, which the schema does not have", name)
		}
	}
}

func TestAccessKeyNamesEverythingAPermissionCheckReads(t *testing.T) {
	org := "o1"
	base := func() *notifyql.Principal {
		return &notifyql.Principal{
			User: notifyql.User{ID: "u1"},
			Services: map[string]notifyql.ServiceAccess{
				"s1": {Permissions: []notifyql.Permission{notifyql.ViewActivity}},
				"s2": {Permissions: []notifyql.Permission{notifyql.SendMessages, notifyql.ViewActivity}},
			},
			Organisations: map[string]bool{org: true},
		}
	}
	same := base()
	same.User.ID = "u2" // another user, with the same access
	if accessKey(base()) != accessKey(same) {
		t.Errorf("two users with the same access have different keys: %q, %q", accessKey(base()), accessKey(same))
	}
	for name, change := range map[string]func(p *notifyql.Principal){
		"platform admin":    func(p *notifyql.Principal) { p.User.PlatformAdmin = true },
		"a permission less": func(p *notifyql.Principal) { p.Services["s1"] = notifyql.ServiceAccess{} },
		"a permission more": func(p *notifyql.Principal) {
			p.Services["s1"] = notifyql.ServiceAccess{Permissions: []notifyql.Permission{notifyql.ViewActivity, notifyql.ManageService}}
		},
		"a membership less":     func(p *notifyql.Principal) { delete(p.Services, "s2") },
		"a membership more":     func(p *notifyql.Principal) { p.Services["s3"] = notifyql.ServiceAccess{} },
		"an organisation less":  func(p *notifyql.Principal) { delete(p.Organisations, org) },
		"an organisation more":  func(p *notifyql.Principal) { p.Organisations["o2"] = true },
		"an organisation false": func(p *notifyql.Principal) { p.Organisations[org] = false },
	} {
		p := base()
		change(p)
		if accessKey(p) == accessKey(base()) {
			t.Errorf("%s: the access key did not change (%q)", name, accessKey(p))
		}
	}
	if accessKey(nil) == accessKey(&notifyql.Principal{}) {
		t.Errorf("an anonymous caller has the key of a signed-in one without access")
	}
}

// TestEveryFieldThatReadsTheCallerIsListed finds the field resolvers that read the
// signed-in principal, directly or through functions of this package, and checks that
// callerFields lists each: a response is shared between callers on the strength of that
// list (audienceOf). Functions are matched by name, which can only find more readers
// than there are, never fewer. The loaders and gqlgen's generated code must not read the
// principal at all.
func TestEveryFieldThatReadsTheCallerIsListed(t *testing.T) {
	readsCaller := func(call *ast.CallExpr) bool {
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		return ok && pkg.Name == "notifyql" && (sel.Sel.Name == "Authenticated" || sel.Sel.Name == "PrincipalFromContext")
	}
	for _, dir := range []string{"../dataloaders", "../graph"} {
		for _, f := range parseDir(t, dir) {
			ast.Inspect(f, func(n ast.Node) bool {
				if call, ok := n.(*ast.CallExpr); ok && readsCaller(call) {
					t.Errorf("%s reads the signed-in principal: shared subscription responses assume it does not", dir)
				}
				return true
			})
		}
	}

	type function struct {
		receiver, name string
		calls          []string
		reads          bool
	}
	var functions []*function
	for _, f := range parseDir(t, ".") {
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			fn := &function{name: fd.Name.Name}
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				typ := fd.Recv.List[0].Type
				if star, ok := typ.(*ast.StarExpr); ok {
					typ = star.X
				}
				if id, ok := typ.(*ast.Ident); ok {
					fn.receiver = id.Name
				}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if readsCaller(call) {
					fn.reads = true
				}
				switch fun := call.Fun.(type) {
				case *ast.Ident:
					fn.calls = append(fn.calls, fun.Name)
				case *ast.SelectorExpr:
					fn.calls = append(fn.calls, fun.Sel.Name)
					if x, ok := fun.X.(*ast.Ident); ok && x.Name == "r" && (fun.Sel.Name == "Query" || fun.Sel.Name == "Mutation" || fun.Sel.Name == "Subscription") {
						fn.calls = append(fn.calls, "rootResolverCalled")
					}
				case *ast.IndexExpr: // a generic function
					if id, ok := fun.X.(*ast.Ident); ok {
						fn.calls = append(fn.calls, id.Name)
					}
				}
				return true
			})
			functions = append(functions, fn)
		}
	}
	// The root resolvers' methods are called by gqlgen alone (checked below), and their
	// names are the root fields': a store method of the same name (r.jobs.UpcomingJobs)
	// is not one of them.
	roots := map[string]bool{"queryResolver": true, "mutationResolver": true, "subscriptionResolver": true}
	for _, fn := range functions {
		for _, c := range fn.calls {
			if c == "rootResolverCalled" {
				t.Errorf("%s calls a root resolver (r.Query(), r.Mutation() or r.Subscription()): the search below assumes only gqlgen does", fn.name)
			}
		}
	}
	for changed := true; changed; {
		changed = false
		readers := map[string]bool{}
		for _, fn := range functions {
			if fn.reads && !roots[fn.receiver] {
				readers[fn.name] = true
			}
		}
		for _, fn := range functions {
			if fn.reads {
				continue
			}
			for _, c := range fn.calls {
				if readers[c] {
					fn.reads, changed = true, true
					break
				}
			}
		}
	}
	found := 0
	for _, fn := range functions {
		if !fn.reads || roots[fn.receiver] || fn.receiver == "Resolver" || !strings.HasSuffix(fn.receiver, "Resolver") || !ast.IsExported(fn.name) {
			continue
		}
		field := upperFirst(strings.TrimSuffix(fn.receiver, "Resolver")) + "." + lowerFirst(fn.name)
		found++
		if _, listed := callerFields[field]; !listed {
			// Names differ only in the case of initialisms (pdfURL, pdfUrl).
			listed = false
			for name := range callerFields {
				listed = listed || strings.EqualFold(name, field)
			}
			if !listed {
				t.Errorf("%s.%s reads the signed-in principal: list %s in callerFields, with what it reads", fn.receiver, fn.name, field)
			}
		}
	}
	if found == 0 {
		t.Fatal("no field resolver reads the principal: the search is broken")
	}
}

func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return files
}

func upperFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}
