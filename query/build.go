package query

import (
	"math"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"
)

// maxParam is the highest parameter number accepted ($1 ... $65535).
const maxParam = 1<<16 - 1

// builder turns participle's grammar structs into the AST, checking the
// rules the grammar cannot express. It returns the first error in source
// order of the checks.
type builder struct {
	params map[int]Position // parameter number -> first use
}

func pos(p lexer.Position) Position {
	return Position{Offset: p.Offset, Line: p.Line, Column: p.Column}
}

func (b *builder) stmt(g *gStatement) (Stmt, error) {
	var s Stmt
	var err error
	if g.Select != nil {
		s, err = b.sel(g.Select)
	} else {
		s, err = b.tail(g.Tail)
	}
	if err != nil {
		return nil, err
	}
	if err := b.checkParams(); err != nil {
		return nil, err
	}
	return s, nil
}

func (b *builder) exprOnly(g *gExprOnly) (Expr, error) {
	e, err := b.or(g.Expr)
	if err != nil {
		return nil, err
	}
	if err := b.checkParams(); err != nil {
		return nil, err
	}
	return e, nil
}

// checkParams requires parameters to be numbered $1..$n without gaps.
func (b *builder) checkParams() error {
	n := len(b.params)
	if n == 0 {
		return nil
	}
	var first Position
	missing, above := 0, 0
	for k := 1; k <= n; k++ {
		if _, ok := b.params[k]; !ok {
			missing = k
			break
		}
	}
	if missing == 0 {
		return nil
	}
	for k, p := range b.params {
		if k > missing && (above == 0 || k < above) {
			above, first = k, p
		}
	}
	return errorf(first, "parameter $%d is used but $%d is not; number parameters from $1 without gaps", above, missing)
}

func (b *builder) table(g *gTable) error {
	if !strings.EqualFold(g.Name, "blocks") {
		return errorf(pos(g.Pos), "unknown table %q; OQL reads from blocks", g.Name)
	}
	return nil
}

func (b *builder) sel(g *gSelect) (*Select, error) {
	s := &Select{At: pos(g.Pos), Explain: g.Explain, Star: g.Star}
	var count *Column
	for _, gc := range g.Columns {
		c := &Column{At: pos(gc.Pos)}
		if gc.Count {
			if count != nil {
				return nil, errorf(c.At, "COUNT(*) appears twice in the select list")
			}
			count = c
		} else {
			f, err := b.field(gc.Field)
			if err != nil {
				return nil, err
			}
			c.Field = f
		}
		s.Columns = append(s.Columns, c)
	}
	if err := b.table(g.Table); err != nil {
		return nil, err
	}
	var err error
	if s.Workspace, err = b.optValue(g.Space, workspaceSlot); err != nil {
		return nil, err
	}
	if g.Where != nil {
		if s.Where, err = b.or(g.Where); err != nil {
			return nil, err
		}
	}
	if g.GroupBy != nil {
		if s.GroupBy, err = b.field(g.GroupBy); err != nil {
			return nil, err
		}
	}
	for _, go_ := range g.OrderBy {
		o := &OrderItem{At: pos(go_.Pos), Desc: strings.EqualFold(go_.Dir, "DESC")}
		if !go_.Count {
			if o.Field, err = b.field(go_.Field); err != nil {
				return nil, err
			}
		}
		s.OrderBy = append(s.OrderBy, o)
	}
	if s.Limit, err = b.optValue(g.Limit, limitSlot); err != nil {
		return nil, err
	}
	if s.Offset, err = b.optValue(g.Offset, offsetSlot); err != nil {
		return nil, err
	}
	if s.AsOf, err = b.optValue(g.AsOf, asOfSlot); err != nil {
		return nil, err
	}
	if err := checkShape(s, count); err != nil {
		return nil, err
	}
	return s, nil
}

// checkShape checks how the select list, GROUP BY and ORDER BY fit together.
func checkShape(s *Select, count *Column) error {
	g := s.GroupBy
	switch {
	case g != nil && s.Star:
		return errorf(g.At, "GROUP BY needs a select list of COUNT(*) and the grouped field, not *")
	case g != nil && count == nil:
		return errorf(g.At, "GROUP BY needs COUNT(*) in the select list")
	}
	for _, c := range s.Columns {
		if c.Field == nil {
			continue
		}
		switch {
		case count != nil && g == nil:
			return errorf(c.At, "COUNT(*) cannot be mixed with fields unless grouped: add GROUP BY %s", c.Field)
		case g != nil && !sameField(c.Field, g):
			return errorf(c.At, "cannot select %s when grouping by %s", c.Field, g)
		}
	}
	for _, o := range s.OrderBy {
		switch {
		case o.Field == nil && g == nil:
			return errorf(o.At, "ORDER BY COUNT(*) needs GROUP BY")
		case o.Field != nil && g != nil && !sameField(o.Field, g):
			return errorf(o.At, "cannot order by %s when grouping by %s", o.Field, g)
		case o.Field != nil && g == nil && count != nil:
			return errorf(o.At, "cannot order by %s: SELECT COUNT(*) returns one row", o.Field)
		}
	}
	return nil
}

func (b *builder) tail(g *gTail) (*Tail, error) {
	t := &Tail{At: pos(g.Pos)}
	if err := b.table(g.Table); err != nil {
		return nil, err
	}
	var err error
	if t.Workspace, err = b.optValue(g.Space, workspaceSlot); err != nil {
		return nil, err
	}
	if g.Where != nil {
		if t.Where, err = b.or(g.Where); err != nil {
			return nil, err
		}
	}
	if t.From, err = b.optValue(g.From, tailFromSlot); err != nil {
		return nil, err
	}
	return t, nil
}

func (b *builder) field(g *gField) (*Field, error) {
	f := &Field{At: pos(g.Pos)}
	kind, ok := lookupField(g.Name)
	switch {
	case !ok && g.Sub != nil:
		return nil, errorf(f.At, "unknown field %q (fields are id, type, creator, created, updated, parent and prop.<name>)", g.Name+"."+g.Sub.Tok.Value)
	case !ok:
		return nil, errorf(f.At, "unknown field %q (fields are id, type, creator, created, updated, parent and prop.<name>)", g.Name)
	case kind == FieldProp && g.Sub == nil:
		return nil, errorf(f.At, "prop needs a property name, as in prop.title")
	case kind != FieldProp && g.Sub != nil:
		return nil, errorf(pos(g.Sub.Tok.Pos), "field %s has no sub-fields; only prop.<name> does", kind)
	}
	f.Kind = kind
	if kind == FieldProp {
		name := g.Sub.Tok.Value
		if g.Sub.Tok.Type == tokString || g.Sub.Tok.Type == tokQIdent {
			name = unquote(name)
		}
		if name == "" {
			return nil, errorf(pos(g.Sub.Tok.Pos), "empty property name")
		}
		f.Prop = name
	}
	return f, nil
}

// literal converts a value token; parameters are recorded and returned as is.
func (b *builder) literal(g *gValue) (Value, error) {
	t := g.Tok
	at := pos(t.Pos)
	switch t.Type {
	case tokString:
		return &Literal{At: at, Kind: KindString, Str: unquote(t.Value)}, nil
	case tokNumber:
		return parseNumber(at, t.Value)
	case tokParam:
		n, err := strconv.Atoi(t.Value[1:])
		if err != nil || n > maxParam {
			return nil, errorf(at, "parameter number %s is out of range ($1 to $%d)", t.Value, maxParam)
		}
		if n == 0 {
			return nil, errorf(at, "parameters are numbered from $1")
		}
		if b.params == nil {
			b.params = map[int]Position{}
		}
		if _, ok := b.params[n]; !ok {
			b.params[n] = at
		}
		return &Param{At: at, N: n}, nil
	}
	switch strings.ToUpper(t.Value) {
	case "TRUE":
		return &Literal{At: at, Kind: KindBool, Bool: true}, nil
	case "FALSE":
		return &Literal{At: at, Kind: KindBool}, nil
	}
	return &Literal{At: at, Kind: KindNull}, nil
}

func parseNumber(at Position, text string) (*Literal, error) {
	if !strings.ContainsAny(text, ".eE") {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, errorf(at, "integer %s is out of range", text)
		}
		return &Literal{At: at, Kind: KindInt, Int: n}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, errorf(at, "number %s is out of range", text)
	}
	return &Literal{At: at, Kind: KindFloat, Float: f}, nil
}

// value converts and checks a value token for slot s.
func (b *builder) value(g *gValue, s slot) (Value, error) {
	v, err := b.literal(g)
	if err != nil {
		return nil, err
	}
	if lit, ok := v.(*Literal); ok {
		return checkValue(s, lit)
	}
	return v, nil
}

func (b *builder) optValue(g *gValue, s slot) (Value, error) {
	if g == nil {
		return nil, nil
	}
	return b.value(g, s)
}

func (b *builder) or(g *gOr) (Expr, error) {
	if len(g.Terms) == 1 {
		return b.and(g.Terms[0])
	}
	or := &Or{At: pos(g.Pos)}
	for _, t := range g.Terms {
		e, err := b.and(t)
		if err != nil {
			return nil, err
		}
		if inner, ok := e.(*Or); ok {
			or.Terms = append(or.Terms, inner.Terms...)
		} else {
			or.Terms = append(or.Terms, e)
		}
	}
	return or, nil
}

func (b *builder) and(g *gAnd) (Expr, error) {
	if len(g.Terms) == 1 {
		return b.not(g.Terms[0])
	}
	and := &And{At: pos(g.Pos)}
	for _, t := range g.Terms {
		e, err := b.not(t)
		if err != nil {
			return nil, err
		}
		if inner, ok := e.(*And); ok {
			and.Terms = append(and.Terms, inner.Terms...)
		} else {
			and.Terms = append(and.Terms, e)
		}
	}
	return and, nil
}

func (b *builder) not(g *gNot) (Expr, error) {
	if g.Not == nil {
		return b.term(g.Term)
	}
	x, err := b.not(g.Not)
	if err != nil {
		return nil, err
	}
	return &Not{At: pos(g.Pos), X: x}, nil
}

func (b *builder) term(g *gTerm) (Expr, error) {
	at := pos(g.Pos)
	switch {
	case g.Group != nil:
		return b.or(g.Group)
	case g.Has != nil:
		f, err := b.field(g.Has)
		if err != nil {
			return nil, err
		}
		if !f.Kind.IsNullable() {
			return nil, errorf(f.At, "HAS needs parent or prop.<name>; %s is always present", f)
		}
		return &Has{At: at, Field: f}, nil
	case g.LinksTo != nil:
		v, err := b.value(g.LinksTo, linksToSlot)
		if err != nil {
			return nil, err
		}
		return &LinksTo{At: at, ID: v}, nil
	case g.LinkedFrom != nil:
		v, err := b.value(g.LinkedFrom, linkedFromSlot)
		if err != nil {
			return nil, err
		}
		return &LinkedFrom{At: at, ID: v}, nil
	case g.ChildOf != nil:
		v, err := b.value(g.ChildOf, childOfSlot)
		if err != nil {
			return nil, err
		}
		return &ChildOf{At: at, ID: v}, nil
	case g.Descendant != nil:
		v, err := b.value(g.Descendant, descendantSlot)
		if err != nil {
			return nil, err
		}
		return &DescendantOf{At: at, ID: v}, nil
	}
	return b.pred(g.Pred)
}

var ops = map[string]Op{"=": OpEq, "!=": OpNe, "<>": OpNe, "<": OpLt, "<=": OpLe, ">": OpGt, ">=": OpGe}

func (b *builder) pred(g *gPred) (Expr, error) {
	at := pos(g.Pos)
	f, err := b.field(g.Field)
	if err != nil {
		return nil, err
	}
	switch {
	case g.Op != "":
		op := ops[g.Op]
		v, err := b.value(g.Value, compareSlot(f, op))
		if err != nil {
			return nil, err
		}
		return &Compare{At: at, Field: f, Op: op, Value: v}, nil
	case g.In != nil || g.NotIn != nil:
		in := &In{At: at, Field: f, Not: g.NotIn != nil}
		list := g.In
		if in.Not {
			list = g.NotIn
		}
		s := inSlot(f)
		for _, gv := range list {
			v, err := b.value(gv, s)
			if err != nil {
				return nil, err
			}
			in.Values = append(in.Values, v)
		}
		return in, nil
	case g.Like != nil || g.NotLike != nil:
		if err := checkTextField("LIKE", f); err != nil {
			return nil, err
		}
		like := &Like{At: at, Field: f, Not: g.NotLike != nil}
		gv := g.Like
		if like.Not {
			gv = g.NotLike
		}
		if like.Pattern, err = b.value(gv, likeSlot); err != nil {
			return nil, err
		}
		return like, nil
	}
	if err := checkTextField("CONTAINS", f); err != nil {
		return nil, err
	}
	v, err := b.value(g.Contains, containsSlot)
	if err != nil {
		return nil, err
	}
	return &Contains{At: at, Field: f, Text: v}, nil
}
