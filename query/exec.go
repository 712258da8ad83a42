package query

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"octobase/index"
)

// ErrUnsupported is returned by Exec for statements the executor does not
// run yet: TAIL (use ParseExpr and Compile on a change stream), AS OF over
// a Source that is not a HistorySource (TimeHistorySource for AS OF a time).
var ErrUnsupported = errors.New("oql: not supported yet")

// Result is what a statement returned: named columns and rows of values.
//
// Values are nil (NULL: an absent field), string, time.Time (created,
// updated; UTC), int64 (COUNT(*)), or a prop's JSON value (bool, float64,
// string, []any, map[string]any; rich text as its plain text). SELECT *
// returns the columns id, type, creator, parent, created, updated, props,
// with props a map[string]any. EXPLAIN returns one column, plan, with one
// row per line.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Exec runs a bound SELECT (see Bind) over src. Predicates the source's
// index answers are computed with bitmaps; the rest filter the candidates
// (see Plan). Without ORDER BY rows come in block id order (groups in key
// order); ORDER BY ties are broken by id (by group key when grouped).
func Exec(ctx context.Context, stmt Stmt, src Source) (*Result, error) {
	return execute(ctx, stmt, src, true)
}

// execScan is the reference evaluation: the same statement by filtering
// every block, never touching an index.
func execScan(ctx context.Context, stmt Stmt, src Source) (*Result, error) {
	return execute(ctx, stmt, src, false)
}

func execute(ctx context.Context, stmt Stmt, src Source, useIndex bool) (*Result, error) {
	sel, ok := stmt.(*Select)
	if !ok {
		return nil, fmt.Errorf("%w: TAIL is a change stream; run it with TailStmt or OpenTail", ErrUnsupported)
	}
	if NumParams(sel) > 0 {
		return nil, &Error{Pos: sel.At, Msg: fmt.Sprintf("statement has %d unbound parameters (use Bind)", NumParams(sel))}
	}
	if sel.AsOf != nil {
		lit, _ := literal(sel.AsOf)
		var past Source
		var err error
		if lit.Kind == KindTime {
			hs, ok := src.(TimeHistorySource)
			if !ok {
				return nil, fmt.Errorf("%w: AS OF a time on this source", ErrUnsupported)
			}
			past, err = hs.AsOfTime(ctx, lit.Time)
		} else {
			hs, ok := src.(HistorySource)
			if !ok {
				return nil, fmt.Errorf("%w: AS OF on this source", ErrUnsupported)
			}
			past, err = hs.AsOf(ctx, uint64(lit.Int))
		}
		if err != nil {
			return nil, err
		}
		src = past
	}
	pred, err := compile(sel.Where, src)
	if err != nil {
		return nil, err
	}
	var snap *index.Snapshot
	if useIndex {
		snap = src.Index()
	}
	var matched []Block
	var plan *Plan
	if snap != nil {
		if plan, err = PlanWhere(sel.Where, snap); err != nil {
			return nil, err
		}
		if sel.Explain {
			return explainResult(sel, plan, snap), nil
		}
		if res, ok := fromBitmaps(sel, plan, snap); ok {
			return res, nil
		}
		if !narrows(plan, snap) {
			now := *sel
			now.AsOf = nil // src is already the state AS OF asked for
			return execute(ctx, &now, noIndex{src}, false)
		}
		add := func(rows *roaring.Bitmap, check bool) error {
			it := rows.Iterator()
			for n := 0; it.HasNext(); n++ {
				if n%1024 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				id, _ := snap.ID(index.RowID(it.Next()))
				b, ok := src.Block(id)
				if !ok {
					return fmt.Errorf("oql: index row %q has no block in the source", id)
				}
				if !check || pred(&b) {
					matched = append(matched, b)
				}
			}
			return nil
		}
		if err := add(plan.Sure, false); err != nil {
			return nil, err
		}
		if err := add(plan.Maybe, true); err != nil {
			return nil, err
		}
		sort.Slice(matched, func(i, j int) bool { return matched[i].ID < matched[j].ID })
	} else {
		if sel.Explain {
			return &Result{Columns: []string{"plan"}, Rows: [][]any{{"select: " + selectSummary(sel)}, {"scan: no index; filter every block: " + whereText(sel.Where)}}}, nil
		}
		all := src.Blocks()
		sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
		for i := range all {
			if i%1024 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if pred(&all[i]) {
				matched = append(matched, all[i])
			}
		}
	}
	return shape(sel, matched)
}

// narrows reports whether the plan excludes any live row: if it does not,
// a scan in id order is cheaper than looking every row up.
func narrows(plan *Plan, snap *index.Snapshot) bool {
	return testAlwaysLookup || plan.Sure.GetCardinality()+plan.Maybe.GetCardinality() < snap.LiveCount()
}

// testAlwaysLookup disables the scan fallback, so the model test checks
// every plan's sure and maybe rows. Only tests set it.
var testAlwaysLookup bool

// noIndex hides a source's index.
type noIndex struct{ Source }

func (noIndex) Index() *index.Snapshot { return nil }

func whereText(e Expr) string {
	if e == nil {
		return "TRUE"
	}
	return FormatExpr(e)
}

func selectSummary(sel *Select) string {
	c := *sel
	c.Explain, c.Where = false, nil
	return Format(&c)
}

func explainResult(sel *Select, plan *Plan, snap *index.Snapshot) *Result {
	var b strings.Builder
	fmt.Fprintf(&b, "select: %s\n", selectSummary(sel))
	fmt.Fprintf(&b, "rows: sure %d (from bitmaps), maybe %d (filtered by the residual)\n", plan.Sure.GetCardinality(), plan.Maybe.GetCardinality())
	if !plan.Maybe.IsEmpty() {
		fmt.Fprintf(&b, "residual: %s\n", whereText(sel.Where))
	}
	if _, ok := fromBitmaps(sel, plan, snap); ok {
		fmt.Fprintf(&b, "result: from bitmap cardinalities, no block is read\n")
	} else if !narrows(plan, snap) {
		fmt.Fprintf(&b, "access: scan every block (the bitmaps exclude none)\n")
	} else {
		fmt.Fprintf(&b, "access: look up the sure and maybe rows\n")
	}
	plan.explain(&b)
	res := &Result{Columns: []string{"plan"}}
	for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		res.Rows = append(res.Rows, []any{line})
	}
	return res
}

// shape turns the matched blocks (in id order) into the result: grouping,
// counting, ordering, projection, LIMIT/OFFSET.
func shape(sel *Select, blocks []Block) (*Result, error) {
	res := &Result{}
	switch {
	case sel.GroupBy != nil:
		idx := map[string]*group{}
		var groups []*group
		for i := range blocks {
			v, ok := outValue(&blocks[i], sel.GroupBy)
			if !ok {
				v = nil
			}
			k := sortKey(v)
			g := idx[k]
			if g == nil {
				g = &group{key: v}
				idx[k] = g
				groups = append(groups, g)
			}
			g.count++
		}
		groupRows(sel, groups, res)
	case !sel.Star && len(sel.Columns) == 1 && sel.Columns[0].IsCount():
		res.Columns = []string{"COUNT(*)"}
		res.Rows = [][]any{{int64(len(blocks))}}
	default:
		if len(sel.OrderBy) > 0 {
			keys := make([][]any, len(blocks))
			for i := range blocks {
				keys[i] = make([]any, len(sel.OrderBy))
				for j, o := range sel.OrderBy {
					if v, ok := outValue(&blocks[i], o.Field); ok {
						keys[i][j] = v
					}
				}
			}
			less := func(a, b int) bool {
				for j, o := range sel.OrderBy {
					c := compareOut(keys[a][j], keys[b][j])
					if o.Desc {
						c = -c
					}
					if c != 0 {
						return c < 0
					}
				}
				return a < b // id order: blocks are sorted by id
			}
			perm := firstN(len(blocks), rowsNeeded(sel, len(blocks)), less)
			sorted := make([]Block, len(perm))
			for i, p := range perm {
				sorted[i] = blocks[p]
			}
			blocks = sorted
		}
		if sel.Star {
			res.Columns = []string{"id", "type", "creator", "parent", "created", "updated", "props"}
		} else {
			for _, c := range sel.Columns {
				res.Columns = append(res.Columns, columnName(c))
			}
		}
		for i := range blocks {
			b := &blocks[i]
			if sel.Star {
				var parent any
				if b.Parent != "" {
					parent = b.Parent
				}
				props := map[string]any{}
				for k := range b.Props {
					props[k], _ = outValue(b, &Field{Kind: FieldProp, Prop: k})
				}
				res.Rows = append(res.Rows, []any{b.ID, b.Type, b.Creator, parent,
					time.UnixMilli(b.Created).UTC(), time.UnixMilli(b.Updated).UTC(), props})
				continue
			}
			row := make([]any, len(sel.Columns))
			for j, c := range sel.Columns {
				if v, ok := outValue(b, c.Field); ok {
					row[j] = v
				}
			}
			res.Rows = append(res.Rows, row)
		}
	}
	limitRows(sel, res)
	return res, nil
}

// rowsNeeded is how many sorted rows LIMIT and OFFSET can return: n
// without a LIMIT.
func rowsNeeded(sel *Select, n int) int {
	if sel.Limit == nil {
		return n
	}
	lim, _ := literal(sel.Limit)
	k := min(lim.Int, int64(n))
	if sel.Offset != nil {
		off, _ := literal(sel.Offset)
		k += min(off.Int, int64(n))
	}
	return int(min(k, int64(n)))
}

// firstN returns the indexes of the k smallest of 0 … n-1 under less (a
// strict total order), in order: a full sort when k is large, otherwise a
// bounded max-heap (top-n for ORDER BY … LIMIT), O(n log k).
func firstN(n, k int, less func(a, b int) bool) []int {
	if k >= n/4 {
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		sort.Slice(perm, func(a, b int) bool { return less(perm[a], perm[b]) })
		return perm[:k]
	}
	h := &maxHeap{less: less}
	for i := 0; i < n; i++ {
		switch {
		case len(h.idx) < k:
			heap.Push(h, i)
		case k > 0 && less(i, h.idx[0]):
			h.idx[0] = i
			heap.Fix(h, 0)
		}
	}
	out := make([]int, len(h.idx))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(int)
	}
	return out
}

// maxHeap keeps the k smallest indexes seen, the largest on top.
type maxHeap struct {
	idx  []int
	less func(a, b int) bool
}

func (h *maxHeap) Len() int           { return len(h.idx) }
func (h *maxHeap) Less(i, j int) bool { return h.less(h.idx[j], h.idx[i]) }
func (h *maxHeap) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *maxHeap) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *maxHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

type group struct {
	key   any
	count int64
}

// groupRows sorts groups (by key, then by ORDER BY) and makes them rows.
func groupRows(sel *Select, groups []*group, res *Result) {
	sort.SliceStable(groups, func(i, j int) bool { return compareOut(groups[i].key, groups[j].key) < 0 })
	sort.SliceStable(groups, func(i, j int) bool {
		for _, o := range sel.OrderBy {
			var c int
			if o.IsCount() {
				c = cmpInt(groups[i].count, groups[j].count)
			} else {
				c = compareOut(groups[i].key, groups[j].key)
			}
			if o.Desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	for _, c := range sel.Columns {
		res.Columns = append(res.Columns, columnName(c))
	}
	for _, g := range groups {
		row := make([]any, len(sel.Columns))
		for i, c := range sel.Columns {
			if c.IsCount() {
				row[i] = g.count
			} else {
				row[i] = g.key
			}
		}
		res.Rows = append(res.Rows, row)
	}
}

// limitRows applies LIMIT and OFFSET.
func limitRows(sel *Select, res *Result) {
	if sel.Limit == nil {
		return
	}
	lim, _ := literal(sel.Limit)
	off := int64(0)
	if sel.Offset != nil {
		o, _ := literal(sel.Offset)
		off = o.Int
	}
	n := int64(len(res.Rows))
	start := min(off, n)
	end := n
	if lim.Int < n-start {
		end = start + lim.Int
	}
	res.Rows = res.Rows[start:end]
}

// fromBitmaps answers COUNT(*) and GROUP BY type|creator from bitmap
// cardinalities when the plan is exact (no residual), without reading
// blocks. ok is false when it cannot.
func fromBitmaps(sel *Select, plan *Plan, snap *index.Snapshot) (*Result, bool) {
	if !plan.Maybe.IsEmpty() {
		return nil, false
	}
	res := &Result{}
	switch {
	case sel.GroupBy != nil && (sel.GroupBy.Kind == FieldType || sel.GroupBy.Kind == FieldCreator):
		terms, get := snap.Flavours(), snap.ByFlavour
		if sel.GroupBy.Kind == FieldCreator {
			terms, get = snap.Creators(), snap.ByCreator
		}
		var groups []*group
		for _, t := range terms {
			if c := plan.Sure.AndCardinality(get(t)); c > 0 {
				groups = append(groups, &group{key: t, count: int64(c)})
			}
		}
		groupRows(sel, groups, res)
	case sel.GroupBy == nil && !sel.Star && len(sel.Columns) == 1 && sel.Columns[0].IsCount():
		res.Columns = []string{"COUNT(*)"}
		res.Rows = [][]any{{int64(plan.Sure.GetCardinality())}}
	default:
		return nil, false
	}
	limitRows(sel, res)
	return res, true
}

func columnName(c *Column) string {
	if c.IsCount() {
		return "COUNT(*)"
	}
	return c.Field.String()
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// outValue is fieldValue for output: rich text as its plain text.
func outValue(b *Block, f *Field) (any, bool) {
	return fieldValue(b, f)
}

// rank orders values of different kinds: NULL, false/true, numbers,
// strings, times, anything else (by its JSON).
func rank(v any) int {
	switch v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case float64, float32, int, int32, int64, uint64:
		return 2
	case string:
		return 3
	case time.Time:
		return 4
	}
	return 5
}

// compareOut is the total order of ORDER BY and GROUP BY keys: by rank,
// then by value (numbers by value, strings by bytes, times by instant,
// other values by their JSON text). NULL sorts first.
func compareOut(a, b any) int {
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmpInt(int64(ra), int64(rb))
	}
	switch x := a.(type) {
	case nil:
		return 0
	case bool:
		y := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	case string:
		return strings.Compare(x, b.(string))
	case time.Time:
		return x.Compare(b.(time.Time))
	}
	if ra == 2 {
		na, _ := numberOf(a)
		nb, _ := numberOf(b)
		switch {
		case na == nil && nb == nil:
			return 0
		case na == nil:
			return -1
		case nb == nil:
			return 1
		}
		return na.Cmp(nb)
	}
	return strings.Compare(jsonText(a), jsonText(b))
}

// sortKey is a map key that is equal for values compareOut calls equal.
func sortKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "0"
	case bool:
		return fmt.Sprintf("1%t", x)
	case string:
		return "3" + x
	case time.Time:
		return fmt.Sprintf("4%d", x.UnixNano())
	}
	if rank(v) == 2 {
		n, ok := numberOf(v)
		if !ok {
			return "2NaN"
		}
		return "2" + n.Text('g', -1)
	}
	return "5" + jsonText(v)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
