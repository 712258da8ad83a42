package query

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"octobase/engine"
)

// This file is the reference semantics of predicates (docs/oql.md,
// "Predicates"): a compiled filter over one Block. The planner answers what
// it can from bitmaps, but whatever it cannot prove is decided here, and
// the model test checks that both agree.

// Pred is a compiled WHERE expression.
type Pred func(b *Block) bool

// lookup resolves block ids for the predicates that look at other blocks
// (DESCENDANT OF, LINKED FROM).
type lookup interface {
	Block(id string) (Block, bool)
}

// Compile turns a bound expression (no *Param) into a filter. src resolves
// the other blocks DESCENDANT OF and LINKED FROM look at.
func Compile(e Expr, src Source) (Pred, error) {
	return compile(e, src)
}

func compile(e Expr, src lookup) (Pred, error) {
	switch e := e.(type) {
	case nil:
		return func(*Block) bool { return true }, nil
	case *And:
		ps, err := compileAll(e.Terms, src)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool {
			for _, p := range ps {
				if !p(b) {
					return false
				}
			}
			return true
		}, nil
	case *Or:
		ps, err := compileAll(e.Terms, src)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool {
			for _, p := range ps {
				if p(b) {
					return true
				}
			}
			return false
		}, nil
	case *Not:
		p, err := compile(e.X, src)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool { return !p(b) }, nil
	case *Compare:
		lit, err := literal(e.Value)
		if err != nil {
			return nil, err
		}
		f, op := e.Field, e.Op
		return func(b *Block) bool { return compareField(b, f, op, lit) }, nil
	case *In:
		lits := make([]*Literal, len(e.Values))
		for i, v := range e.Values {
			l, err := literal(v)
			if err != nil {
				return nil, err
			}
			lits[i] = l
		}
		f, not := e.Field, e.Not
		return func(b *Block) bool {
			for _, l := range lits {
				if compareField(b, f, OpEq, l) {
					return !not
				}
			}
			return not
		}, nil
	case *Like:
		lit, err := literal(e.Pattern)
		if err != nil {
			return nil, err
		}
		f, not, pat := e.Field, e.Not, lit.Str
		return func(b *Block) bool {
			s, ok := fieldText(b, f)
			return ok && likeMatch(pat, s) != not
		}, nil
	case *Contains:
		lit, err := literal(e.Text)
		if err != nil {
			return nil, err
		}
		f, needle := e.Field, foldString(lit.Str)
		return func(b *Block) bool {
			s, ok := fieldText(b, f)
			return ok && strings.Contains(foldString(s), needle)
		}, nil
	case *Has:
		f := e.Field
		return func(b *Block) bool {
			if f.Kind == FieldParent {
				return b.Parent != ""
			}
			if f.Kind == FieldProp {
				_, ok := b.Props[f.Prop]
				return ok
			}
			return true
		}, nil
	case *LinksTo:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool {
			for _, l := range b.Links {
				if l == id {
					return true
				}
			}
			return false
		}, nil
	case *LinkedFrom:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool {
			from, ok := src.Block(id)
			if !ok {
				return false
			}
			for _, l := range from.Links {
				if l == b.ID {
					return true
				}
			}
			return false
		}, nil
	case *ChildOf:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool { return b.Parent == id }, nil
	case *DescendantOf:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return func(b *Block) bool { return isDescendant(src, b, id) }, nil
	}
	return nil, fmt.Errorf("oql: cannot evaluate %T", e)
}

func compileAll(es []Expr, src lookup) ([]Pred, error) {
	ps := make([]Pred, len(es))
	for i, e := range es {
		p, err := compile(e, src)
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	return ps, nil
}

// isDescendant walks b's parent chain through live blocks: id must be the
// parent of b or of a live ancestor of b. b itself never counts, even on a
// parent cycle (index.Snapshot.DescendantsOf agrees).
func isDescendant(src lookup, b *Block, id string) bool {
	if b.ID == id {
		return false
	}
	seen := map[string]bool{b.ID: true}
	cur := *b
	for {
		p := cur.Parent
		if p == "" {
			return false
		}
		if p == id {
			return true
		}
		if seen[p] {
			return false
		}
		seen[p] = true
		next, ok := src.Block(p)
		if !ok {
			return false
		}
		cur = next
	}
}

func literal(v Value) (*Literal, error) {
	switch v := v.(type) {
	case *Literal:
		return v, nil
	case *Param:
		return nil, &Error{Pos: v.At, Msg: fmt.Sprintf("parameter %s is not bound (use Bind)", v)}
	}
	return nil, fmt.Errorf("oql: bad value %T", v)
}

func idOf(v Value) (string, error) {
	l, err := literal(v)
	if err != nil {
		return "", err
	}
	return l.Str, nil
}

// fieldValue returns the value of f in b as a Go value: string for the
// text fields, time.Time for times, the prop value for props. ok is false
// when the field is absent (a root's parent, a missing prop).
func fieldValue(b *Block, f *Field) (any, bool) {
	switch f.Kind {
	case FieldID:
		return b.ID, true
	case FieldType:
		return b.Type, true
	case FieldCreator:
		return b.Creator, true
	case FieldParent:
		if b.Parent == "" {
			return nil, false
		}
		return b.Parent, true
	case FieldCreated:
		return time.UnixMilli(b.Created).UTC(), true
	case FieldUpdated:
		return time.UnixMilli(b.Updated).UTC(), true
	case FieldProp:
		v, ok := b.Props[f.Prop]
		if rt, isText := v.(engine.RichText); isText {
			return rt.Text, ok
		}
		if rt, isText := v.(*engine.RichText); isText && rt != nil {
			return rt.Text, ok
		}
		return v, ok
	}
	return nil, false
}

// fieldText returns the field's text for LIKE and CONTAINS: a string field,
// a string prop or the plain text of a rich text.
func fieldText(b *Block, f *Field) (string, bool) {
	v, ok := fieldValue(b, f)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// compareField decides f op lit for block b. Absent fields compare false
// (except = NULL); != is true only for a present, non-null value that is
// not equal; values of different kinds are never equal or ordered.
func compareField(b *Block, f *Field, op Op, lit *Literal) bool {
	v, ok := fieldValue(b, f)
	if lit.Kind == KindNull {
		present := ok && v != nil
		if op == OpEq {
			return !present
		}
		return op == OpNe && present
	}
	if !ok || v == nil {
		return false
	}
	c, comparable := compareValues(v, lit)
	if !comparable {
		return op == OpNe
	}
	switch op {
	case OpEq:
		return c == 0
	case OpNe:
		return c != 0
	case OpLt:
		return c < 0
	case OpLe:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGe:
		return c >= 0
	}
	return false
}

// compareValues compares a non-nil field value with a literal: -1, 0, +1,
// and false when they are of different kinds.
func compareValues(v any, lit *Literal) (int, bool) {
	switch lit.Kind {
	case KindString:
		s, ok := v.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(s, lit.Str), true
	case KindTime:
		t, ok := v.(time.Time)
		if !ok {
			return 0, false
		}
		return t.Compare(lit.Time), true
	case KindBool:
		x, ok := v.(bool)
		if !ok {
			return 0, false
		}
		switch {
		case x == lit.Bool:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case KindInt, KindFloat:
		x, ok := numberOf(v)
		if !ok {
			return 0, false
		}
		var y *big.Float
		if lit.Kind == KindInt {
			y = new(big.Float).SetInt64(lit.Int)
		} else {
			y = big.NewFloat(lit.Float)
		}
		return x.Cmp(y), true
	}
	return 0, false
}

// numberOf returns a JSON number as an exact big.Float.
func numberOf(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false
		}
		return big.NewFloat(x), true
	case float32:
		return numberOf(float64(x))
	case int:
		return new(big.Float).SetInt64(int64(x)), true
	case int32:
		return new(big.Float).SetInt64(int64(x)), true
	case int64:
		return new(big.Float).SetInt64(x), true
	case uint64:
		return new(big.Float).SetUint64(x), true
	}
	return nil, false
}

// likeMatch matches s against a LIKE pattern: % any run, _ one character,
// \ makes the next character literal; case-sensitive, whole string. It
// backtracks only to the last %, so it costs O(len(pat) × len(s)) at worst.
func likeMatch(pat, s string) bool {
	type tok struct {
		r    rune
		kind byte // 'l' literal, '_' one, '%' any run
	}
	var toks []tok
	for i := 0; i < len(pat); {
		r, n := utf8.DecodeRuneInString(pat[i:])
		i += n
		switch {
		case r == '\\' && i < len(pat):
			r, n = utf8.DecodeRuneInString(pat[i:])
			i += n
			toks = append(toks, tok{r, 'l'})
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, tok{0, '%'})
			}
		case r == '_':
			toks = append(toks, tok{0, '_'})
		default:
			toks = append(toks, tok{r, 'l'})
		}
	}
	rs := []rune(s)
	p, q := 0, 0
	star, mark := -1, 0
	for q < len(rs) {
		switch {
		case p < len(toks) && (toks[p].kind == '_' || toks[p].kind == 'l' && toks[p].r == rs[q]):
			p++
			q++
		case p < len(toks) && toks[p].kind == '%':
			star, mark = p, q
			p++
		case star >= 0:
			mark++
			p, q = star+1, mark
		default:
			return false
		}
	}
	for p < len(toks) && toks[p].kind == '%' {
		p++
	}
	return p == len(toks)
}

// foldString maps every rune to the smallest rune of its simple case
// folding orbit, so equal strings under Unicode simple folding are equal.
func foldString(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		b.WriteRune(min)
	}
	return b.String()
}
