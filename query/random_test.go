package query

import (
	"flag"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

var randomN = flag.Int("random", 2000, "number of random ASTs TestRandomRoundTrip checks")

// TestRandomRoundTrip generates random well-formed ASTs (seeded; the seed
// is printed on failure), prints them and parses them back: the result must
// equal the generated AST, positions aside. This reaches the printer's
// quoting and precedence rules far faster than byte-level fuzzing.
func TestRandomRoundTrip(t *testing.T) {
	for seed := uint64(1); seed <= uint64(*randomN); seed++ {
		g := gen{rand.New(rand.NewPCG(seed, 0))}
		var s Stmt
		if g.Intn(4) == 0 {
			s = g.tail()
		} else {
			s = g.sel()
		}
		out := Format(s)
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("seed %d: Parse(Format(ast)) failed: %v\n%s\n%s", seed, err, out, dumpNoPos(s))
		}
		if !reflect.DeepEqual(clearPositions(back), s) {
			t.Fatalf("seed %d: round trip differs:\n%s\nwant:\n%s\ngot:\n%s", seed, out, dumpNoPos(s), dumpNoPos(back))
		}
		if out2 := Format(back); out2 != out {
			t.Fatalf("seed %d: Format not canonical:\n%s\n%s", seed, out, out2)
		}
	}
}

type gen struct{ *rand.Rand }

func (g gen) Intn(n int) int { return g.IntN(n) }

var runePool = []rune{'a', 'Z', '0', ' ', '\'', '"', '\\', '%', '_', '\n', '\r', '\t', 0, 0x7f, 'é', '日', 0x2028, 0x1F600, '-', '$', '(', ';'}

func (g gen) str(nonEmpty bool) string {
	n := g.Intn(6)
	if nonEmpty && n == 0 {
		n = 1
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteRune(runePool[g.Intn(len(runePool))])
	}
	return b.String()
}

func (g gen) field(allowTime bool) *Field {
	kinds := []FieldKind{FieldID, FieldType, FieldCreator, FieldParent, FieldProp, FieldProp}
	if allowTime {
		kinds = append(kinds, FieldCreated, FieldUpdated)
	}
	f := &Field{Kind: kinds[g.Intn(len(kinds))]}
	if f.Kind == FieldProp {
		names := []string{"title", "select", "NULL", "日付", "a b", "", "9x", `q"'`}
		f.Prop = names[g.Intn(len(names))]
		if f.Prop == "" {
			f.Prop = g.str(true)
		}
	}
	return f
}

func (g gen) text(nonEmpty bool) *Literal { return &Literal{Kind: KindString, Str: g.str(nonEmpty)} }

func (g gen) time() *Literal {
	sec := -62167219200 + g.Int64N(253402300799+62167219200)
	ns := int64(0)
	if g.Intn(2) == 0 {
		ns = g.Int64N(1e9)
	}
	return &Literal{Kind: KindTime, Time: time.Unix(sec, ns).UTC()}
}

func (g gen) number() *Literal {
	switch g.Intn(4) {
	case 0:
		return &Literal{Kind: KindInt, Int: int64(g.Uint64())}
	case 1:
		return &Literal{Kind: KindInt, Int: g.Int64N(100) - 50}
	case 2:
		for {
			f := math.Float64frombits(g.Uint64())
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				return &Literal{Kind: KindFloat, Float: f}
			}
		}
	}
	return &Literal{Kind: KindFloat, Float: float64(g.Intn(1000)) / 8}
}

// value returns a literal of the right kind for f (compared with op).
func (g gen) value(f *Field, op Op, inList bool) Value {
	if g.Intn(10) == 0 {
		return &Param{N: 1}
	}
	switch {
	case f.Kind.IsTime():
		return g.time()
	case f.Kind == FieldProp:
		switch g.Intn(5) {
		case 0:
			return g.text(false)
		case 1:
			if !op.IsOrdering() {
				return &Literal{Kind: KindBool, Bool: g.Intn(2) == 0}
			}
		case 2:
			if !op.IsOrdering() && !inList {
				return &Literal{Kind: KindNull}
			}
		}
		return g.number()
	case f.Kind == FieldParent && !op.IsOrdering() && !inList && g.Intn(4) == 0:
		return &Literal{Kind: KindNull}
	}
	return g.text(false)
}

func (g gen) pattern() Value {
	p := g.str(false)
	if checkLikePattern(&Literal{Str: p}) != nil {
		p += "x"
	}
	return &Literal{Kind: KindString, Str: p}
}

func (g gen) expr(depth int, parent string) Expr {
	if depth <= 0 {
		return g.pred()
	}
	switch g.Intn(5) {
	case 0:
		if parent != "and" {
			return &And{Terms: g.terms(depth, "and")}
		}
	case 1:
		if parent != "or" {
			return &Or{Terms: g.terms(depth, "or")}
		}
	case 2:
		return &Not{X: g.expr(depth-1, "not")}
	}
	return g.pred()
}

func (g gen) terms(depth int, kind string) []Expr {
	n := 2 + g.Intn(3)
	out := make([]Expr, n)
	for i := range out {
		out[i] = g.expr(depth-1, kind)
	}
	return out
}

func (g gen) pred() Expr {
	ops := []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}
	switch g.Intn(10) {
	case 0:
		f := g.field(true)
		in := &In{Field: f, Not: g.Intn(2) == 0}
		for n := 1 + g.Intn(3); n > 0; n-- {
			in.Values = append(in.Values, g.value(f, 0, true))
		}
		return in
	case 1:
		return &Like{Field: g.field(false), Not: g.Intn(2) == 0, Pattern: g.pattern()}
	case 2:
		f := &Field{Kind: FieldParent}
		if g.Intn(2) == 0 {
			f = g.field(false)
			f.Kind, f.Prop = FieldProp, "x"
		}
		return &Has{Field: f}
	case 3:
		return &LinksTo{ID: g.text(true)}
	case 4:
		return &LinkedFrom{ID: g.text(true)}
	case 5:
		return &ChildOf{ID: g.text(true)}
	case 6:
		return &DescendantOf{ID: g.text(true)}
	case 7:
		return &Contains{Field: g.field(false), Text: g.text(false)}
	}
	f := g.field(true)
	op := ops[g.Intn(len(ops))]
	return &Compare{Field: f, Op: op, Value: g.value(f, op, false)}
}

func (g gen) optWhere() Expr {
	if g.Intn(5) == 0 {
		return nil
	}
	return g.expr(g.Intn(4), "")
}

func (g gen) count() Value {
	return &Literal{Kind: KindInt, Int: g.Int64N(math.MaxInt64)}
}

func (g gen) sel() *Select {
	s := &Select{Explain: g.Intn(4) == 0, Where: g.optWhere()}
	switch g.Intn(4) {
	case 0:
		s.Star = true
	case 1:
		s.Columns = []*Column{{}}
	case 2:
		f := g.field(true)
		s.GroupBy = f
		s.Columns = []*Column{{Field: f}, {}}
		if g.Intn(2) == 0 {
			s.Columns[0], s.Columns[1] = s.Columns[1], s.Columns[0]
		}
		s.OrderBy = []*OrderItem{{Desc: true}, {Field: f}}
	default:
		for n := 1 + g.Intn(3); n > 0; n-- {
			s.Columns = append(s.Columns, &Column{Field: g.field(true)})
		}
		for n := g.Intn(3); n > 0; n-- {
			s.OrderBy = append(s.OrderBy, &OrderItem{Field: g.field(true), Desc: g.Intn(2) == 0})
		}
	}
	if g.Intn(3) == 0 {
		s.Workspace = g.text(true)
	}
	if g.Intn(2) == 0 {
		s.Limit = g.count()
		if g.Intn(2) == 0 {
			s.Offset = g.count()
		}
	}
	switch g.Intn(3) {
	case 0:
		s.AsOf = g.count()
	case 1:
		s.AsOf = g.time()
	}
	numberParams(s)
	return s
}

func (g gen) tail() *Tail {
	t := &Tail{Where: g.optWhere()}
	if g.Intn(2) == 0 {
		t.From = g.count()
	}
	numberParams(t)
	return t
}

// numberParams renumbers the generated parameters $1, $2, ... in source order.
func numberParams(n Node) {
	k := 0
	Inspect(n, func(n Node) bool {
		if p, ok := n.(*Param); ok {
			k++
			p.N = k
		}
		return true
	})
}
