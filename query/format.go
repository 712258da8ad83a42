package query

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format prints s as canonical OQL: keywords in upper case, fields in lower
// case (flavour as type), != for <>, no ASC, no FROM NOW, no semicolon,
// single spaces, times as RFC 3339 strings in UTC, and the fewest
// parentheses the precedence (OR < AND < NOT < predicate) allows. For every
// statement Parse accepts, Parse(Format(s)) equals s except for positions.
func Format(s Stmt) string {
	var p printer
	p.stmt(s)
	return p.String()
}

// FormatExpr prints e as canonical OQL (see Format).
func FormatExpr(e Expr) string {
	var p printer
	p.expr(e, precOr)
	return p.String()
}

func (n *Select) String() string       { return Format(n) }
func (n *Tail) String() string         { return Format(n) }
func (n *And) String() string          { return FormatExpr(n) }
func (n *Or) String() string           { return FormatExpr(n) }
func (n *Not) String() string          { return FormatExpr(n) }
func (n *Compare) String() string      { return FormatExpr(n) }
func (n *In) String() string           { return FormatExpr(n) }
func (n *Like) String() string         { return FormatExpr(n) }
func (n *Has) String() string          { return FormatExpr(n) }
func (n *LinksTo) String() string      { return FormatExpr(n) }
func (n *LinkedFrom) String() string   { return FormatExpr(n) }
func (n *ChildOf) String() string      { return FormatExpr(n) }
func (n *DescendantOf) String() string { return FormatExpr(n) }
func (n *Contains) String() string     { return FormatExpr(n) }

func (n *Column) String() string {
	if n.Field == nil {
		return "COUNT(*)"
	}
	return n.Field.String()
}

func (n *OrderItem) String() string {
	s := "COUNT(*)"
	if n.Field != nil {
		s = n.Field.String()
	}
	if n.Desc {
		s += " DESC"
	}
	return s
}

// String returns the field as OQL: id, type, ..., prop.name, or
// prop."name" when the name is not an identifier.
func (n *Field) String() string {
	if n.Kind != FieldProp {
		return n.Kind.String()
	}
	if isIdentifier(n.Prop) {
		return "prop." + n.Prop
	}
	return "prop." + quote(n.Prop, '"')
}

func (n *Literal) String() string {
	switch n.Kind {
	case KindString:
		return quote(n.Str, '\'')
	case KindInt:
		return strconv.FormatInt(n.Int, 10)
	case KindFloat:
		return formatFloat(n.Float)
	case KindBool:
		if n.Bool {
			return "TRUE"
		}
		return "FALSE"
	case KindNull:
		return "NULL"
	case KindTime:
		return "'" + n.Time.UTC().Format(time.RFC3339Nano) + "'"
	}
	return "?" + n.Kind.String()
}

func (n *Param) String() string { return "$" + strconv.Itoa(n.N) }

// formatFloat prints f so that it lexes back as the same float: with a
// decimal point or an exponent, never as an integer.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}

// isIdentifier reports whether s lexes as one Ident or Keyword token.
func isIdentifier(s string) bool {
	for i, r := range s {
		if i == 0 && !isIdentStart(r) || !isIdentPart(r) {
			return false
		}
	}
	return s != ""
}

// quote quotes s with q (' for strings, " for identifiers): q is doubled,
// backslash and control characters are escaped, everything else is kept.
func quote(s string, q byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == rune(q):
			b.WriteByte(q)
			b.WriteByte(q)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789ABCDEF"[r>>4])
			b.WriteByte("0123456789ABCDEF"[r&15])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte(q)
	return b.String()
}

// Operator precedence, loosest first.
const (
	precOr = iota + 1
	precAnd
	precNot
	precPred
)

func precedence(e Expr) int {
	switch e.(type) {
	case *Or:
		return precOr
	case *And:
		return precAnd
	case *Not:
		return precNot
	}
	return precPred
}

type printer struct{ strings.Builder }

func (p *printer) stmt(s Stmt) {
	switch s := s.(type) {
	case *Select:
		p.sel(s)
	case *Tail:
		p.WriteString("TAIL blocks")
		p.workspace(s.Workspace)
		p.where(s.Where)
		if s.From != nil {
			p.WriteString(" FROM ")
			p.value(s.From)
		}
	}
}

func (p *printer) sel(s *Select) {
	if s.Explain {
		p.WriteString("EXPLAIN ")
	}
	p.WriteString("SELECT ")
	if s.Star {
		p.WriteString("*")
	}
	for i, c := range s.Columns {
		if i > 0 {
			p.WriteString(", ")
		}
		p.WriteString(c.String())
	}
	p.WriteString(" FROM blocks")
	p.workspace(s.Workspace)
	p.where(s.Where)
	if s.GroupBy != nil {
		p.WriteString(" GROUP BY ")
		p.WriteString(s.GroupBy.String())
	}
	for i, o := range s.OrderBy {
		if i == 0 {
			p.WriteString(" ORDER BY ")
		} else {
			p.WriteString(", ")
		}
		p.WriteString(o.String())
	}
	if s.Limit != nil {
		p.WriteString(" LIMIT ")
		p.value(s.Limit)
	}
	if s.Offset != nil {
		p.WriteString(" OFFSET ")
		p.value(s.Offset)
	}
	if s.AsOf != nil {
		p.WriteString(" AS OF ")
		p.value(s.AsOf)
	}
}

func (p *printer) workspace(v Value) {
	if v != nil {
		p.WriteString(" IN ")
		p.value(v)
	}
}

func (p *printer) where(e Expr) {
	if e != nil {
		p.WriteString(" WHERE ")
		p.expr(e, precOr)
	}
}

func (p *printer) value(v Value) {
	if v == nil {
		p.WriteString("?")
		return
	}
	p.WriteString(v.String())
}

func (p *printer) field(f *Field) {
	if f == nil {
		p.WriteString("?")
		return
	}
	p.WriteString(f.String())
}

// expr prints e, in parentheses if it binds looser than the context min.
func (p *printer) expr(e Expr, min int) {
	if precedence(e) < min {
		p.WriteByte('(')
		defer p.WriteByte(')')
	}
	switch e := e.(type) {
	case *Or:
		p.terms(e.Terms, " OR ", precAnd)
	case *And:
		p.terms(e.Terms, " AND ", precNot)
	case *Not:
		p.WriteString("NOT ")
		p.expr(e.X, precNot)
	case *Compare:
		p.field(e.Field)
		p.WriteByte(' ')
		p.WriteString(e.Op.String())
		p.WriteByte(' ')
		p.value(e.Value)
	case *In:
		p.field(e.Field)
		if e.Not {
			p.WriteString(" NOT")
		}
		p.WriteString(" IN (")
		for i, v := range e.Values {
			if i > 0 {
				p.WriteString(", ")
			}
			p.value(v)
		}
		p.WriteByte(')')
	case *Like:
		p.field(e.Field)
		if e.Not {
			p.WriteString(" NOT")
		}
		p.WriteString(" LIKE ")
		p.value(e.Pattern)
	case *Has:
		p.WriteString("HAS ")
		p.field(e.Field)
	case *LinksTo:
		p.WriteString("LINKS TO ")
		p.value(e.ID)
	case *LinkedFrom:
		p.WriteString("LINKED FROM ")
		p.value(e.ID)
	case *ChildOf:
		p.WriteString("CHILD OF ")
		p.value(e.ID)
	case *DescendantOf:
		p.WriteString("DESCENDANT OF ")
		p.value(e.ID)
	case *Contains:
		p.field(e.Field)
		p.WriteString(" CONTAINS ")
		p.value(e.Text)
	default:
		p.WriteString("?")
	}
}

func (p *printer) terms(terms []Expr, sep string, min int) {
	for i, t := range terms {
		if i > 0 {
			p.WriteString(sep)
		}
		p.expr(t, min)
	}
}
