package query

import (
	"fmt"
	"math"
	"reflect"
	"time"
	"unicode/utf8"
)

// Bind returns a copy of stmt with every parameter $N replaced by
// params[N-1], converted to a literal and checked like a literal written in
// its place (so created > $1 takes an ISO-8601 string, milliseconds or a
// time.Time). stmt is not modified; the copy shares Field and Literal nodes
// with it, so treat ASTs as immutable. len(params) must equal
// NumParams(stmt).
//
// Accepted Go values: nil (NULL), bool, string (valid UTF-8), signed and
// unsigned integers, floats (finite; where an integer is required, a float
// with an integral value is accepted, as JSON decoders produce), time.Time,
// and types whose underlying kind is one of these. In an IN list a slice or
// array expands to its elements: type IN ($1) with []string{"a", "b"} is
// type IN ('a', 'b').
//
// Every error is an *Error: at the parameter's position for a bad value,
// at the statement's for a wrong number of values.
func Bind(stmt Stmt, params []any) (Stmt, error) {
	if stmt == nil {
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Msg: "Bind of a nil statement"}
	}
	if err := checkParamCount(stmt, params); err != nil {
		return nil, err
	}
	b := binder{params: params}
	switch s := stmt.(type) {
	case *Select:
		return b.sel(s)
	case *Tail:
		return b.tail(s)
	}
	return nil, errorf(stmt.Pos(), "Bind of an unknown statement type %T", stmt)
}

// BindExpr is Bind for a bare expression (see ParseExpr).
func BindExpr(e Expr, params []any) (Expr, error) {
	if e == nil {
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Msg: "Bind of a nil expression"}
	}
	if err := checkParamCount(e, params); err != nil {
		return nil, err
	}
	b := binder{params: params}
	return b.expr(e)
}

func checkParamCount(n Node, params []any) error {
	if want := NumParams(n); len(params) != want {
		return errorf(n.Pos(), "%s takes %d parameter(s), got %d value(s)", kindOf(n), want, len(params))
	}
	return nil
}

func kindOf(n Node) string {
	switch n.(type) {
	case *Select, *Tail:
		return "statement"
	}
	return "expression"
}

type binder struct{ params []any }

func (b *binder) sel(s *Select) (*Select, error) {
	out := *s
	var count *Column
	for _, c := range s.Columns {
		if c.Field == nil {
			count = c
		}
	}
	var err error
	if out.Workspace, err = b.optValue(s.Workspace, workspaceSlot); err != nil {
		return nil, err
	}
	if out.Where, err = b.optExpr(s.Where); err != nil {
		return nil, err
	}
	if out.Limit, err = b.optValue(s.Limit, limitSlot); err != nil {
		return nil, err
	}
	if out.Offset, err = b.optValue(s.Offset, offsetSlot); err != nil {
		return nil, err
	}
	if out.AsOf, err = b.optValue(s.AsOf, asOfSlot); err != nil {
		return nil, err
	}
	if err := checkShape(&out, count); err != nil {
		return nil, err
	}
	return &out, nil
}

func (b *binder) tail(t *Tail) (*Tail, error) {
	out := *t
	var err error
	if out.Workspace, err = b.optValue(t.Workspace, workspaceSlot); err != nil {
		return nil, err
	}
	if out.Where, err = b.optExpr(t.Where); err != nil {
		return nil, err
	}
	if out.From, err = b.optValue(t.From, tailFromSlot); err != nil {
		return nil, err
	}
	return &out, nil
}

func (b *binder) optExpr(e Expr) (Expr, error) {
	if e == nil {
		return nil, nil
	}
	return b.expr(e)
}

func (b *binder) optValue(v Value, s slot) (Value, error) {
	if v == nil {
		return nil, nil
	}
	return b.value(v, s)
}

func (b *binder) exprs(in []Expr) ([]Expr, error) {
	out := make([]Expr, len(in))
	for i, e := range in {
		var err error
		if out[i], err = b.expr(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *binder) expr(e Expr) (Expr, error) {
	var err error
	switch e := e.(type) {
	case *And:
		out := *e
		out.Terms, err = b.exprs(e.Terms)
		return &out, err
	case *Or:
		out := *e
		out.Terms, err = b.exprs(e.Terms)
		return &out, err
	case *Not:
		out := *e
		out.X, err = b.expr(e.X)
		return &out, err
	case *Compare:
		out := *e
		out.Value, err = b.value(e.Value, compareSlot(e.Field, e.Op))
		return &out, err
	case *In:
		out := *e
		out.Values, err = b.list(e.Values, inSlot(e.Field))
		return &out, err
	case *Like:
		if err := checkTextField("LIKE", e.Field); err != nil {
			return nil, err
		}
		out := *e
		out.Pattern, err = b.value(e.Pattern, likeSlot)
		return &out, err
	case *Has:
		return e, nil
	case *LinksTo:
		out := *e
		out.ID, err = b.value(e.ID, linksToSlot)
		return &out, err
	case *LinkedFrom:
		out := *e
		out.ID, err = b.value(e.ID, linkedFromSlot)
		return &out, err
	case *ChildOf:
		out := *e
		out.ID, err = b.value(e.ID, childOfSlot)
		return &out, err
	case *DescendantOf:
		out := *e
		out.ID, err = b.value(e.ID, descendantSlot)
		return &out, err
	case *Contains:
		if err := checkTextField("CONTAINS", e.Field); err != nil {
			return nil, err
		}
		out := *e
		out.Text, err = b.value(e.Text, containsSlot)
		return &out, err
	case nil:
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Msg: "nil expression"}
	}
	return nil, errorf(e.Pos(), "unknown expression type %T", e)
}

// list binds the values of an IN list, expanding parameters bound to
// slices.
func (b *binder) list(in []Value, s slot) ([]Value, error) {
	out := make([]Value, 0, len(in))
	for _, v := range in {
		p, ok := v.(*Param)
		if !ok {
			lit, err := b.value(v, s)
			if err != nil {
				return nil, err
			}
			out = append(out, lit)
			continue
		}
		rv := reflect.ValueOf(b.params[p.N-1])
		if !isList(rv) {
			lit, err := b.value(v, s)
			if err != nil {
				return nil, err
			}
			out = append(out, lit)
			continue
		}
		if rv.Len() == 0 {
			return nil, errorf(p.At, "parameter $%d: empty list (an IN list needs at least one value)", p.N)
		}
		for i := 0; i < rv.Len(); i++ {
			lit, err := b.convert(p, rv.Index(i).Interface(), s)
			if err != nil {
				return nil, err
			}
			out = append(out, lit)
		}
	}
	return out, nil
}

func isList(rv reflect.Value) bool {
	k := rv.Kind()
	return (k == reflect.Slice || k == reflect.Array) && rv.Type().Elem().Kind() != reflect.Uint8
}

func (b *binder) value(v Value, s slot) (Value, error) {
	switch v := v.(type) {
	case *Literal:
		return checkValue(s, v)
	case *Param:
		if v.N < 1 || v.N > len(b.params) {
			return nil, errorf(v.At, "no value for parameter $%d", v.N)
		}
		return b.convert(v, b.params[v.N-1], s)
	case nil:
		return nil, &Error{Pos: Position{Line: 1, Column: 1}, Msg: "nil value"}
	}
	return nil, errorf(v.Pos(), "unknown value type %T", v)
}

// convert turns the Go value x bound to p into a literal checked for s.
func (b *binder) convert(p *Param, x any, s slot) (*Literal, error) {
	lit, err := literalOf(p.At, x)
	if err != nil {
		return nil, errorf(p.At, "parameter $%d: %s", p.N, err.(*Error).Msg)
	}
	if lit.Kind == KindFloat {
		switch s.kind {
		case slotCount, slotLSN, slotTime, slotAsOf:
			if f := lit.Float; f == math.Trunc(f) && f >= math.MinInt64 && f < math.MaxInt64 {
				lit = &Literal{At: lit.At, Kind: KindInt, Int: int64(f)}
			}
		}
	}
	if lit.Kind == KindTime && s.kind != slotTime && s.kind != slotAsOf {
		return nil, errorf(p.At, "parameter $%d: %s needs %s, got a time.Time; pass a string", p.N, s.what, slotWant(s))
	}
	out, err := checkValue(s, lit)
	if err != nil {
		return nil, errorf(p.At, "parameter $%d: %s", p.N, err.(*Error).Msg)
	}
	return out, nil
}

func slotWant(s slot) string {
	switch s.kind {
	case slotJSON:
		return "a string, number or boolean"
	case slotCount, slotLSN:
		return "a non-negative integer"
	}
	return "a string"
}

var timeType = reflect.TypeOf(time.Time{})

// literalOf converts a Go value to an unchecked literal.
func literalOf(at Position, x any) (*Literal, error) {
	if x == nil {
		return &Literal{At: at, Kind: KindNull}, nil
	}
	if t, ok := x.(time.Time); ok {
		return &Literal{At: at, Kind: KindTime, Time: t}, nil
	}
	rv := reflect.ValueOf(x)
	switch rv.Kind() {
	case reflect.String:
		s := rv.String()
		if !utf8.ValidString(s) {
			return nil, errorf(at, "string is not valid UTF-8")
		}
		return &Literal{At: at, Kind: KindString, Str: s}, nil
	case reflect.Bool:
		return &Literal{At: at, Kind: KindBool, Bool: rv.Bool()}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &Literal{At: at, Kind: KindInt, Int: rv.Int()}, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return nil, errorf(at, "integer %d is out of range", u)
		}
		return &Literal{At: at, Kind: KindInt, Int: int64(u)}, nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errorf(at, "number %v is not finite", f)
		}
		return &Literal{At: at, Kind: KindFloat, Float: f}, nil
	case reflect.Struct:
		if rv.Type().ConvertibleTo(timeType) {
			return &Literal{At: at, Kind: KindTime, Time: rv.Convert(timeType).Interface().(time.Time)}, nil
		}
	case reflect.Slice, reflect.Array:
		if isList(rv) {
			return nil, errorf(at, "a list (%T) is only allowed as an element of an IN list", x)
		}
	}
	return nil, errorf(at, "unsupported type %s", fmt.Sprintf("%T", x))
}
