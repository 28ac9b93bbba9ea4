package flows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// The committed diagram names every state the code declares, each with a way in and a way out.
func TestStatesDiagramIsComplete(t *testing.T) {
	diagram, err := os.ReadFile("states.mermaid")
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), "session.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "State" || len(v.Values) != 1 {
				continue
			}
			if lit, ok := v.Values[0].(*ast.BasicLit); ok {
				name, _ := strconv.Unquote(lit.Value)
				states = append(states, name)
			}
		}
	}
	if len(states) < 5 {
		t.Fatalf("found only the states %v in session.go", states)
	}
	text := string(diagram)
	for _, s := range states {
		if !strings.Contains(text, "--> "+s+":") || !strings.Contains(text, "    "+s+" --> ") {
			t.Errorf("states.mermaid lacks a way into or out of %s", s)
		}
	}
}
