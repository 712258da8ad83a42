package query

import (
	"io"
	"strings"
	"testing"
)

// TestNodePositions checks, for every node of every corpus statement, that
// its position lies in the source and points at the node's text, and that
// every expression prints as OQL that ParseExpr accepts.
func TestNodePositions(t *testing.T) {
	var queries []string
	for _, f := range []string{"select.oql", "tail.oql"} {
		queries = append(queries, readCorpus(t, f)...)
	}
	for _, src := range queries {
		s, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		Inspect(s, func(n Node) bool {
			p := n.Pos()
			if !p.IsValid() || p.Offset < 0 || p.Offset >= len(src) {
				t.Fatalf("%q: %T at %v (offset %d) is outside the source", src, n, p, p.Offset)
			}
			at := strings.ToLower(src[p.Offset:])
			switch n := n.(type) {
			case *Select:
				want(t, src, n, at, "select", "explain")
			case *Tail:
				want(t, src, n, at, "tail")
			case *Field:
				want(t, src, n, at, n.Kind.String(), "flavour")
			case *Param:
				want(t, src, n, at, "$")
			case *Not:
				want(t, src, n, at, "not")
			case *Has:
				want(t, src, n, at, "has")
			case *LinksTo:
				want(t, src, n, at, "links")
			case *LinkedFrom:
				want(t, src, n, at, "linked")
			case *ChildOf:
				want(t, src, n, at, "child")
			case *DescendantOf:
				want(t, src, n, at, "descendant")
			case *Compare:
				samePos(t, src, n, n.Field)
			case *In:
				samePos(t, src, n, n.Field)
			case *Like:
				samePos(t, src, n, n.Field)
			case *Contains:
				samePos(t, src, n, n.Field)
			case *Column:
				if n.IsCount() {
					want(t, src, n, at, "count")
				} else {
					samePos(t, src, n, n.Field)
				}
			case *OrderItem:
				if n.IsCount() {
					want(t, src, n, at, "count")
				} else {
					samePos(t, src, n, n.Field)
				}
			}
			// (Sub-expressions with parameters may use $2 without $1.)
			if e, ok := n.(Expr); ok && NumParams(e) == 0 {
				back, err := ParseExpr(e.String())
				if err != nil {
					t.Fatalf("%q: %T prints as %q, which does not parse: %v", src, e, e.String(), err)
				}
				if back.String() != e.String() {
					t.Fatalf("%q: %q reprints as %q", src, e.String(), back.String())
				}
			}
			return true
		})
	}
}

func want(t *testing.T, src string, n Node, at string, prefixes ...string) {
	t.Helper()
	for _, p := range prefixes {
		if strings.HasPrefix(at, p) {
			return
		}
	}
	t.Fatalf("%q: %T at %v points at %.12q, want one of %q", src, n, n.Pos(), at, prefixes)
}

func samePos(t *testing.T, src string, n Node, f *Field) {
	t.Helper()
	if n.Pos() != f.Pos() {
		t.Fatalf("%q: %T at %v, its field at %v", src, n, n.Pos(), f.Pos())
	}
}

func TestKindStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{OpNe.String(), "!="},
		{Op(0).String(), "Op(0)"},
		{KindTime.String(), "time"},
		{Kind(0).String(), "Kind(0)"},
		{FieldParent.String(), "parent"},
		{(&Column{}).String(), "COUNT(*)"},
		{(&OrderItem{Desc: true}).String(), "COUNT(*) DESC"},
		{(&Literal{}).String(), "?Kind(0)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if !FieldID.IsText() || FieldCreated.IsText() || !FieldProp.IsNullable() || !FieldUpdated.IsTime() {
		t.Error("FieldKind predicates are wrong")
	}
}

// TestLexReader covers the io.Reader entry point of the lexer definition.
func TestLexReader(t *testing.T) {
	lx, err := lexDef{}.Lex("", io.MultiReader(strings.NewReader("TAIL "), strings.NewReader("blocks")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		tok, err := lx.Next()
		if err != nil {
			t.Fatal(err)
		}
		if tok.EOF() {
			break
		}
		got = append(got, tok.Value)
	}
	if strings.Join(got, " ") != "TAIL blocks" {
		t.Errorf("got %q", got)
	}
}
