package query

import (
	"strconv"
	"strings"
	"time"
)

// Dump renders the AST rooted at n as an indented tree, one node per line
// with its position, for golden tests and debugging. The format is for
// people and may change.
func Dump(n Node) string {
	d := dumper{pos: true}
	d.node(n, 0)
	return d.String()
}

// dumpNoPos is Dump without positions.
func dumpNoPos(n Node) string {
	var d dumper
	d.node(n, 0)
	return d.String()
}

type dumper struct {
	strings.Builder
	pos bool
}

func (d *dumper) line(depth int, name string, at Position, detail string) {
	d.WriteString(strings.Repeat("  ", depth))
	d.WriteString(name)
	if d.pos {
		d.WriteByte(' ')
		d.WriteString(at.String())
	}
	if detail != "" {
		d.WriteByte(' ')
		d.WriteString(detail)
	}
	d.WriteByte('\n')
}

func (d *dumper) label(depth int, label string) {
	d.WriteString(strings.Repeat("  ", depth))
	d.WriteString(label)
	d.WriteString(":\n")
}

func (d *dumper) child(depth int, label string, n Node) {
	d.label(depth, label)
	d.node(n, depth+1)
}

func (d *dumper) optValue(depth int, label string, v Value) {
	if v != nil {
		d.child(depth, label, v)
	}
}

func not(b bool) string {
	if b {
		return "NOT"
	}
	return ""
}

func (d *dumper) node(n Node, depth int) {
	switch n := n.(type) {
	case *Select:
		detail := ""
		if n.Explain {
			detail = "EXPLAIN"
		}
		d.line(depth, "Select", n.At, detail)
		if n.Star {
			d.WriteString(strings.Repeat("  ", depth+1) + "Columns: *\n")
		} else {
			d.label(depth+1, "Columns")
			for _, c := range n.Columns {
				d.node(c, depth+2)
			}
		}
		d.optValue(depth+1, "Workspace", n.Workspace)
		if n.Where != nil {
			d.child(depth+1, "Where", n.Where)
		}
		if n.GroupBy != nil {
			d.child(depth+1, "GroupBy", n.GroupBy)
		}
		if len(n.OrderBy) > 0 {
			d.label(depth+1, "OrderBy")
			for _, o := range n.OrderBy {
				d.node(o, depth+2)
			}
		}
		d.optValue(depth+1, "Limit", n.Limit)
		d.optValue(depth+1, "Offset", n.Offset)
		d.optValue(depth+1, "AsOf", n.AsOf)
	case *Tail:
		d.line(depth, "Tail", n.At, "")
		d.optValue(depth+1, "Workspace", n.Workspace)
		if n.Where != nil {
			d.child(depth+1, "Where", n.Where)
		}
		if n.From != nil {
			d.child(depth+1, "From", n.From)
		} else {
			d.WriteString(strings.Repeat("  ", depth+1) + "From: NOW\n")
		}
	case *Column:
		if n.Field == nil {
			d.line(depth, "Column", n.At, "COUNT(*)")
			return
		}
		d.line(depth, "Column", n.At, "")
		d.node(n.Field, depth+1)
	case *OrderItem:
		dir := "ASC"
		if n.Desc {
			dir = "DESC"
		}
		if n.Field == nil {
			d.line(depth, "OrderItem", n.At, "COUNT(*) "+dir)
			return
		}
		d.line(depth, "OrderItem", n.At, dir)
		d.node(n.Field, depth+1)
	case *Field:
		if n == nil {
			d.WriteString(strings.Repeat("  ", depth) + "<nil>\n")
			return
		}
		d.line(depth, "Field", n.At, n.String())
	case *Literal:
		d.line(depth, "Literal", n.At, dumpLiteral(n))
	case *Param:
		d.line(depth, "Param", n.At, n.String())
	case *And:
		d.line(depth, "And", n.At, "")
		for _, t := range n.Terms {
			d.node(t, depth+1)
		}
	case *Or:
		d.line(depth, "Or", n.At, "")
		for _, t := range n.Terms {
			d.node(t, depth+1)
		}
	case *Not:
		d.line(depth, "Not", n.At, "")
		d.node(n.X, depth+1)
	case *Compare:
		d.line(depth, "Compare", n.At, n.Op.String())
		d.node(n.Field, depth+1)
		d.node(n.Value, depth+1)
	case *In:
		d.line(depth, "In", n.At, not(n.Not))
		d.node(n.Field, depth+1)
		for _, v := range n.Values {
			d.node(v, depth+1)
		}
	case *Like:
		d.line(depth, "Like", n.At, not(n.Not))
		d.node(n.Field, depth+1)
		d.node(n.Pattern, depth+1)
	case *Has:
		d.line(depth, "Has", n.At, "")
		d.node(n.Field, depth+1)
	case *LinksTo:
		d.line(depth, "LinksTo", n.At, "")
		d.node(n.ID, depth+1)
	case *LinkedFrom:
		d.line(depth, "LinkedFrom", n.At, "")
		d.node(n.ID, depth+1)
	case *ChildOf:
		d.line(depth, "ChildOf", n.At, "")
		d.node(n.ID, depth+1)
	case *DescendantOf:
		d.line(depth, "DescendantOf", n.At, "")
		d.node(n.ID, depth+1)
	case *Contains:
		d.line(depth, "Contains", n.At, "")
		d.node(n.Field, depth+1)
		d.node(n.Text, depth+1)
	case nil:
		d.WriteString(strings.Repeat("  ", depth) + "<nil>\n")
	default:
		d.line(depth, "?", n.Pos(), "")
	}
}

func dumpLiteral(l *Literal) string {
	switch l.Kind {
	case KindString:
		return "string " + strconv.Quote(l.Str)
	case KindInt:
		return "int " + strconv.FormatInt(l.Int, 10)
	case KindFloat:
		return "float " + formatFloat(l.Float)
	case KindBool:
		return "bool " + strconv.FormatBool(l.Bool)
	case KindNull:
		return "null"
	case KindTime:
		return "time " + l.Time.UTC().Format(time.RFC3339Nano)
	}
	return l.Kind.String()
}
