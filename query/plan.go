package query

import (
	"fmt"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"octobase/index"
)

// Plan is how a WHERE expression is answered over an index snapshot: a
// tree that mirrors the expression, each node holding two disjoint row
// sets. Sure rows match for certain; Maybe rows may match and are decided
// by the compiled filter (the residual). Rows in neither never match.
//
//   - an index predicate: Sure is its posting (exact); time ranges put the
//     rows of the boundary hours in Maybe;
//   - a filter predicate (props, LIKE on ids, ...): Maybe is every live row;
//   - AND: Sure = ∩ Sure_i, Maybe = ∩ (Sure_i ∪ Maybe_i) − Sure;
//   - OR:  Sure = ∪ Sure_i, Maybe = ∪ (Sure_i ∪ Maybe_i) − Sure;
//   - NOT: Sure = live − (Sure ∪ Maybe), Maybe unchanged.
//
// The result is Sure plus the Maybe rows the whole WHERE accepts.
type Plan struct {
	Root *PlanNode
	// Sure and Maybe are the root's sets; nil Root (no WHERE) means Sure
	// is every live row.
	Sure, Maybe *roaring.Bitmap
}

// PlanNode is one node of a Plan.
type PlanNode struct {
	Expr Expr
	// Access says how the node is answered: "index <posting>" or "filter"
	// for leaves; "and", "or", "not", and "union" / "live−union" for IN
	// and NOT IN over postings.
	Access      string
	Sure, Maybe *roaring.Bitmap
	Children    []*PlanNode
}

// Exact reports whether the node needs no residual filter.
func (n *PlanNode) Exact() bool { return n.Maybe.IsEmpty() }

// PlanWhere plans the bound expression e (nil: every block) over snap.
// Exec uses it; EXPLAIN prints it. The node bitmaps are new, the caller's.
func PlanWhere(e Expr, snap *index.Snapshot) (*Plan, error) {
	live := snap.Live()
	if e == nil {
		return &Plan{Sure: live.Clone(), Maybe: roaring.New()}, nil
	}
	p := &planner{snap: snap, live: live}
	root, err := p.node(e)
	if err != nil {
		return nil, err
	}
	return &Plan{Root: root, Sure: root.Sure, Maybe: root.Maybe}, nil
}

type planner struct {
	snap *index.Snapshot
	live *roaring.Bitmap
}

func (p *planner) exact(e Expr, access string, bm *roaring.Bitmap) *PlanNode {
	return &PlanNode{Expr: e, Access: "index " + access, Sure: roaring.And(bm, p.live), Maybe: roaring.New()}
}

func (p *planner) filter(e Expr) *PlanNode {
	return &PlanNode{Expr: e, Access: "filter", Sure: roaring.New(), Maybe: p.live.Clone()}
}

func (p *planner) node(e Expr) (*PlanNode, error) {
	switch e := e.(type) {
	case *And, *Or:
		var terms []Expr
		access := "and"
		if a, ok := e.(*And); ok {
			terms = a.Terms
		} else {
			terms, access = e.(*Or).Terms, "or"
		}
		n := &PlanNode{Expr: e, Access: access}
		exact := true
		for _, t := range terms {
			c, err := p.node(t)
			if err != nil {
				return nil, err
			}
			n.Children = append(n.Children, c)
			exact = exact && c.Maybe.IsEmpty()
		}
		if exact {
			// Every term is exact: one intersection (union) of the sure
			// rows, smallest first, without copying the terms.
			sures := make([]*roaring.Bitmap, len(n.Children))
			for i, c := range n.Children {
				sures[i] = c.Sure
			}
			if access == "and" {
				n.Sure = roaring.FastAnd(sures...)
			} else {
				n.Sure = roaring.FastOr(sures...)
			}
			n.Maybe = roaring.New()
			return n, nil
		}
		var sure, possible *roaring.Bitmap
		for i, c := range n.Children {
			cp := roaring.Or(c.Sure, c.Maybe)
			switch {
			case i == 0:
				sure, possible = c.Sure.Clone(), cp
			case access == "and":
				sure.And(c.Sure)
				possible.And(cp)
			default:
				sure.Or(c.Sure)
				possible.Or(cp)
			}
		}
		possible.AndNot(sure)
		n.Sure, n.Maybe = sure, possible
		return n, nil
	case *Not:
		c, err := p.node(e.X)
		if err != nil {
			return nil, err
		}
		sure := p.live.Clone()
		sure.AndNot(c.Sure)
		sure.AndNot(c.Maybe)
		return &PlanNode{Expr: e, Access: "not", Sure: sure, Maybe: c.Maybe.Clone(), Children: []*PlanNode{c}}, nil
	case *Has:
		if e.Field.Kind == FieldParent {
			return p.negated(e, "roots", p.snap.ChildrenOf("")), nil
		}
		return p.filter(e), nil
	case *ChildOf:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return p.exact(e, fmt.Sprintf("children[%s]", quoteID(id)), p.children(id)), nil
	case *DescendantOf:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return p.exact(e, fmt.Sprintf("descendants[%s]", quoteID(id)), p.snap.DescendantsOf(id)), nil
	case *LinksTo:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return p.exact(e, fmt.Sprintf("backlinks[%s]", quoteID(id)), p.snap.LinkingTo(id)), nil
	case *LinkedFrom:
		id, err := idOf(e.ID)
		if err != nil {
			return nil, err
		}
		return p.exact(e, fmt.Sprintf("links[%s]", quoteID(id)), p.snap.LinkedFrom(id)), nil
	case *Compare:
		lit, err := literal(e.Value)
		if err != nil {
			return nil, err
		}
		return p.compare(e, e.Field, e.Op, lit), nil
	case *In:
		n := &PlanNode{Expr: e, Access: "union", Sure: roaring.New(), Maybe: roaring.New()}
		for _, v := range e.Values {
			lit, err := literal(v)
			if err != nil {
				return nil, err
			}
			c := p.compare(&Compare{At: e.At, Field: e.Field, Op: OpEq, Value: lit}, e.Field, OpEq, lit)
			n.Children = append(n.Children, c)
			n.Sure.Or(c.Sure)
			n.Maybe.Or(c.Maybe)
		}
		n.Maybe.AndNot(n.Sure)
		if len(n.Children) == 1 && !e.Not {
			n = n.Children[0]
		}
		if allFilters(n) {
			return p.filter(e), nil
		}
		if e.Not {
			sure := p.live.Clone()
			sure.AndNot(n.Sure)
			sure.AndNot(n.Maybe)
			n = &PlanNode{Expr: e, Access: "live−union", Sure: sure, Maybe: n.Maybe.Clone(), Children: n.Children}
		} else {
			n.Expr = e
		}
		return n, nil
	case *Like:
		lit, err := literal(e.Pattern)
		if err != nil {
			return nil, err
		}
		var terms []string
		var name string
		var get func(string) *roaring.Bitmap
		switch e.Field.Kind {
		case FieldType:
			terms, name, get = p.snap.Flavours(), "flavour", p.snap.ByFlavour
		case FieldCreator:
			terms, name, get = p.snap.Creators(), "creator", p.snap.ByCreator
		default:
			return p.filter(e), nil
		}
		bm := roaring.New()
		for _, t := range terms {
			if likeMatch(lit.Str, t) {
				bm.Or(get(t))
			}
		}
		access := fmt.Sprintf("%s[LIKE %s]", name, quoteID(lit.Str))
		if e.Not {
			return p.negated(e, access, bm), nil
		}
		return p.exact(e, access, bm), nil
	}
	return p.filter(e), nil
}

func allFilters(n *PlanNode) bool {
	if n.Access == "filter" {
		return true
	}
	if len(n.Children) == 0 {
		return false
	}
	for _, c := range n.Children {
		if c.Access != "filter" {
			return false
		}
	}
	return true
}

// negated is live − bm.
func (p *planner) negated(e Expr, access string, bm *roaring.Bitmap) *PlanNode {
	sure := p.live.Clone()
	sure.AndNot(bm)
	return &PlanNode{Expr: e, Access: "index live−" + access, Sure: sure, Maybe: roaring.New()}
}

// children is ChildrenOf for a real parent id ("" is nobody's parent).
func (p *planner) children(id string) *roaring.Bitmap {
	if id == "" {
		return roaring.New()
	}
	return p.snap.ChildrenOf(id)
}

// compare plans f op lit.
func (p *planner) compare(e Expr, f *Field, op Op, lit *Literal) *PlanNode {
	switch f.Kind {
	case FieldType, FieldCreator:
		if lit.Kind != KindString {
			return p.filter(e)
		}
		name, get, all := "flavour", p.snap.ByFlavour, p.snap.Flavours
		if f.Kind == FieldCreator {
			name, get, all = "creator", p.snap.ByCreator, p.snap.Creators
		}
		switch op {
		case OpEq:
			return p.exact(e, fmt.Sprintf("%s[%s]", name, quoteID(lit.Str)), get(lit.Str))
		case OpNe:
			return p.negated(e, fmt.Sprintf("%s[%s]", name, quoteID(lit.Str)), get(lit.Str))
		}
		bm := roaring.New()
		for _, t := range all() {
			if c := strings.Compare(t, lit.Str); op == OpLt && c < 0 || op == OpLe && c <= 0 || op == OpGt && c > 0 || op == OpGe && c >= 0 {
				bm.Or(get(t))
			}
		}
		return p.exact(e, fmt.Sprintf("%s[%s %s]", name, op, quoteID(lit.Str)), bm)
	case FieldParent:
		switch {
		case lit.Kind == KindNull && op == OpEq:
			return p.exact(e, "roots", p.snap.ChildrenOf(""))
		case lit.Kind == KindNull && op == OpNe:
			return p.negated(e, "roots", p.snap.ChildrenOf(""))
		case lit.Kind == KindString && op == OpEq:
			return p.exact(e, fmt.Sprintf("children[%s]", quoteID(lit.Str)), p.children(lit.Str))
		case lit.Kind == KindString && op == OpNe:
			bm := roaring.Or(p.snap.ChildrenOf(""), p.children(lit.Str))
			return p.negated(e, fmt.Sprintf("(roots ∪ children[%s])", quoteID(lit.Str)), bm)
		}
	case FieldID:
		if lit.Kind != KindString || op.IsOrdering() {
			break
		}
		bm := roaring.New()
		if r, ok := p.snap.Row(lit.Str); ok {
			bm.Add(uint32(r))
		}
		if op == OpEq {
			return p.exact(e, fmt.Sprintf("rowid[%s]", quoteID(lit.Str)), bm)
		}
		return p.negated(e, fmt.Sprintf("rowid[%s]", quoteID(lit.Str)), bm)
	case FieldCreated, FieldUpdated:
		if lit.Kind == KindTime {
			return p.timeRange(e, f, op, lit)
		}
	}
	return p.filter(e)
}

// timeRange plans a comparison of created/updated with a time.
func (p *planner) timeRange(e Expr, f *Field, op Op, lit *Literal) *PlanNode {
	t := lit.Time
	floor := t.Unix()*1000 + int64(t.Nanosecond()/1e6)
	whole := t.Nanosecond()%1e6 == 0
	ceil := floor
	if !whole {
		ceil++
	}
	from, to := index.MinTime, index.MaxTime
	switch op {
	case OpEq, OpNe:
		if !whole {
			from, to = 1, 0 // no ms equals t
		} else {
			from, to = floor, floor
		}
	case OpLt:
		to = ceil - 1
	case OpLe:
		to = floor
	case OpGt:
		from = floor + 1
	case OpGe:
		from = ceil
	}
	rng := p.snap.CreatedRange
	if f.Kind == FieldUpdated {
		rng = p.snap.UpdatedRange
	}
	exact, cand := rng(from, to)
	if from > to {
		exact, cand = roaring.New(), roaring.New()
	}
	access := fmt.Sprintf("%s[%d..%d]", f.Kind, from, to)
	if op == OpNe {
		sure := p.live.Clone()
		sure.AndNot(exact)
		sure.AndNot(cand)
		return &PlanNode{Expr: e, Access: "index live−" + access, Sure: sure, Maybe: cand}
	}
	return &PlanNode{Expr: e, Access: "index " + access, Sure: exact, Maybe: cand}
}

// quoteID prints an id as an OQL string literal.
func quoteID(s string) string {
	return (&Literal{Kind: KindString, Str: s}).String()
}

// explain writes the plan tree, one node per line, indented.
func (pl *Plan) explain(b *strings.Builder) {
	if pl.Root == nil {
		fmt.Fprintf(b, "where: none: every live row (%d)\n", pl.Sure.GetCardinality())
		return
	}
	var walk func(n *PlanNode, depth int)
	walk = func(n *PlanNode, depth int) {
		ind := strings.Repeat("  ", depth)
		kind := "exact"
		if !n.Exact() {
			kind = "candidate"
		}
		if n.Access == "filter" {
			fmt.Fprintf(b, "%sfilter %s\n", ind, FormatExpr(n.Expr))
			return
		}
		if strings.HasSuffix(n.Access, "union") {
			fmt.Fprintf(b, "%s%s: index %s, %s, sure %d, maybe %d\n", ind, FormatExpr(n.Expr), n.Access, kind, n.Sure.GetCardinality(), n.Maybe.GetCardinality())
			for _, c := range n.Children {
				walk(c, depth+1)
			}
			return
		}
		if len(n.Children) > 0 {
			fmt.Fprintf(b, "%s%s: %s, sure %d, maybe %d\n", ind, strings.ToUpper(n.Access), kind, n.Sure.GetCardinality(), n.Maybe.GetCardinality())
			for _, c := range n.Children {
				walk(c, depth+1)
			}
			return
		}
		fmt.Fprintf(b, "%s%s: %s, %s, sure %d, maybe %d\n", ind, FormatExpr(n.Expr), n.Access, kind, n.Sure.GetCardinality(), n.Maybe.GetCardinality())
	}
	walk(pl.Root, 0)
}
