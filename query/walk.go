package query

// Inspect traverses the AST rooted at n in source order, calling f for each
// node: statements, Columns, OrderItems, expressions, Fields and Values. If
// f returns false, Inspect skips the node's children. Nil children are
// skipped.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	switch n := n.(type) {
	case *Select:
		for _, c := range n.Columns {
			Inspect(c, f)
		}
		inspectValue(n.Workspace, f)
		inspectExpr(n.Where, f)
		if n.GroupBy != nil {
			Inspect(n.GroupBy, f)
		}
		for _, o := range n.OrderBy {
			Inspect(o, f)
		}
		inspectValue(n.Limit, f)
		inspectValue(n.Offset, f)
		inspectValue(n.AsOf, f)
	case *Tail:
		inspectValue(n.Workspace, f)
		inspectExpr(n.Where, f)
		inspectValue(n.From, f)
	case *Column:
		if n.Field != nil {
			Inspect(n.Field, f)
		}
	case *OrderItem:
		if n.Field != nil {
			Inspect(n.Field, f)
		}
	case *And:
		for _, t := range n.Terms {
			inspectExpr(t, f)
		}
	case *Or:
		for _, t := range n.Terms {
			inspectExpr(t, f)
		}
	case *Not:
		inspectExpr(n.X, f)
	case *Compare:
		inspectField(n.Field, f)
		inspectValue(n.Value, f)
	case *In:
		inspectField(n.Field, f)
		for _, v := range n.Values {
			inspectValue(v, f)
		}
	case *Like:
		inspectField(n.Field, f)
		inspectValue(n.Pattern, f)
	case *Has:
		inspectField(n.Field, f)
	case *LinksTo:
		inspectValue(n.ID, f)
	case *LinkedFrom:
		inspectValue(n.ID, f)
	case *ChildOf:
		inspectValue(n.ID, f)
	case *DescendantOf:
		inspectValue(n.ID, f)
	case *Contains:
		inspectField(n.Field, f)
		inspectValue(n.Text, f)
	}
}

// The helpers below avoid passing typed nil pointers as non-nil Nodes.

func inspectExpr(e Expr, f func(Node) bool) {
	if e != nil {
		Inspect(e, f)
	}
}

func inspectValue(v Value, f func(Node) bool) {
	if v != nil {
		Inspect(v, f)
	}
}

func inspectField(fd *Field, f func(Node) bool) {
	if fd != nil {
		Inspect(fd, f)
	}
}

// NumParams returns the highest parameter number in n ($3 → 3), which is
// the number of values Bind needs: Parse requires parameters $1..$n to be
// used without gaps.
func NumParams(n Node) int {
	max := 0
	Inspect(n, func(n Node) bool {
		if p, ok := n.(*Param); ok && p.N > max {
			max = p.N
		}
		return true
	})
	return max
}
