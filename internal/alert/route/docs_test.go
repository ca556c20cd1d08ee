package route_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
)

// TestDocComments fails when this package or matcher lacks a package
// comment, or an exported name lacks a doc comment.
func TestDocComments(t *testing.T) {
	for _, dir := range []string{".", "../matcher"} {
		fset := token.NewFileSet()
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		hasPkgDoc := false
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(fset, f, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil {
				hasPkgDoc = true
			}
			for _, decl := range file.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if d.Name.IsExported() && d.Doc == nil && !isMethodOfUnexported(d) && d.Name.Name != "Error" {
						t.Errorf("%s: %s has no doc comment", fset.Position(d.Pos()), d.Name.Name)
					}
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						switch s := spec.(type) {
						case *ast.TypeSpec:
							if s.Name.IsExported() && d.Doc == nil && s.Doc == nil {
								t.Errorf("%s: type %s has no doc comment", fset.Position(s.Pos()), s.Name.Name)
							}
						case *ast.ValueSpec:
							for _, n := range s.Names {
								if n.IsExported() && d.Doc == nil && s.Doc == nil && s.Comment == nil {
									t.Errorf("%s: %s has no doc comment", fset.Position(n.Pos()), n.Name)
								}
							}
						}
					}
				}
			}
		}
		if !hasPkgDoc {
			t.Errorf("package in %s has no package comment", dir)
		}
	}
}

func isMethodOfUnexported(d *ast.FuncDecl) bool {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return false
	}
	typ := d.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && !id.IsExported()
}

// TestConcurrentReads exercises a Tree, an Inhibitor and Silences from
// several goroutines; run with -race.
func TestConcurrentReads(t *testing.T) {
	tr := testTree(t)
	in, err := route.NewInhibitor([]route.InhibitRule{{
		SourceMatchers: matcher.MustParse(`severity="critical"`), TargetMatchers: matcher.MustParse(`severity=~"warning|info"`), Equal: []string{"team"},
	}}, []map[string]string{labelsOf("severity=critical team=db")})
	if err != nil {
		t.Fatal(err)
	}
	ss := route.Silences{{ID: "s", Matchers: matcher.MustParse(`team="web"`), StartsAt: t0, EndsAt: t0.Add(1e12)}}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l := labelsOf("team=db severity=warning env=prod")
				ms := tr.Match(l, monday10)
				_ = ms[0].Explain()
				_ = route.GroupKey(ms[0].Node, l)
				if ok, _ := in.Inhibited(l); !ok {
					t.Error("not inhibited")
					return
				}
				_ = ss.Mutes(l, t0)
			}
		}()
	}
	wg.Wait()
}
