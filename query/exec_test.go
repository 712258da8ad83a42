package query

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
)

var (
	modelSeed = flag.Uint64("model.seed", 0, "first seed of TestExecModel (0: from the clock)")
	modelN    = flag.Int("model.n", 400, "number of random workspaces TestExecModel checks")
)

// base is the model's clock: a few days either side of it, so time ranges
// span hours, days and their boundaries.
var base = time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC).UnixMilli()

var (
	modelIDs      = []string{"a", "b", "c", "d", "e", "f", "g", "h", "zz"}
	modelTypes    = []string{"affine:page", "affine:paragraph", "affine:note", ""}
	modelCreators = []string{"u1", "u2", "U1", ""}
	modelWords    = []string{"", "Budget", "budget plan", "Ünïcode", "x%y", "a_b", "plan"}
)

type modelGen struct{ *rand.Rand }

func (g modelGen) pick(s []string) string { return s[g.IntN(len(s))] }

func (g modelGen) time() int64 {
	switch g.IntN(4) {
	case 0:
		return base
	case 1:
		return base + int64(g.IntN(5))*3_600_000 - 1 + int64(g.IntN(3))
	}
	return base + g.Int64N(4*86_400_000) - 2*86_400_000
}

func (g modelGen) propValue() any {
	switch g.IntN(7) {
	case 0:
		return nil
	case 1:
		return g.IntN(2) == 0
	case 2:
		return float64(g.IntN(5)) / 2
	case 3:
		return engine.RichText{Text: g.pick(modelWords)}
	case 4:
		return []any{"x", 1.0}
	}
	return g.pick(modelWords)
}

func (g modelGen) workspace() []Block {
	n := g.IntN(9)
	ids := append([]string(nil), modelIDs[:8]...)
	g.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	var blocks []Block
	for _, id := range ids[:n] {
		b := Block{ID: id, Type: g.pick(modelTypes), Creator: g.pick(modelCreators), Created: g.time(), Props: map[string]any{}}
		b.Updated = b.Created + int64(g.IntN(3))*g.Int64N(86_400_000)
		if g.IntN(3) > 0 {
			b.Parent = g.pick(modelIDs)
		}
		for _, p := range []string{"title", "n", "done"} {
			if g.IntN(3) > 0 {
				b.Props[p] = g.propValue()
			}
		}
		for k := g.IntN(3); k > 0; k-- {
			b.Links = append(b.Links, g.pick(modelIDs))
		}
		blocks = append(blocks, b)
	}
	return blocks
}

func (g modelGen) field(allowTime bool) *Field {
	kinds := []FieldKind{FieldID, FieldType, FieldCreator, FieldParent, FieldProp, FieldProp, FieldProp}
	if allowTime {
		kinds = append(kinds, FieldCreated, FieldUpdated)
	}
	f := &Field{Kind: kinds[g.IntN(len(kinds))]}
	if f.Kind == FieldProp {
		f.Prop = g.pick([]string{"title", "n", "done", "missing"})
	}
	return f
}

func (g modelGen) value(f *Field, op Op, inList bool) *Literal {
	switch f.Kind {
	case FieldCreated, FieldUpdated:
		ms := g.time()
		ns := int64(0)
		if g.IntN(4) == 0 {
			ns = 500_000
		}
		return &Literal{Kind: KindTime, Time: time.UnixMilli(ms).Add(time.Duration(ns)).UTC()}
	case FieldID, FieldParent:
		if f.Kind == FieldParent && !op.IsOrdering() && !inList && g.IntN(4) == 0 {
			return &Literal{Kind: KindNull}
		}
		return &Literal{Kind: KindString, Str: g.pick(modelIDs)}
	case FieldType:
		return &Literal{Kind: KindString, Str: g.pick(modelTypes)}
	case FieldCreator:
		return &Literal{Kind: KindString, Str: g.pick(modelCreators)}
	}
	switch g.IntN(5) {
	case 0:
		if !op.IsOrdering() {
			return &Literal{Kind: KindBool, Bool: g.IntN(2) == 0}
		}
	case 1:
		if !op.IsOrdering() && !inList {
			return &Literal{Kind: KindNull}
		}
	case 2:
		return &Literal{Kind: KindInt, Int: int64(g.IntN(3))}
	case 3:
		return &Literal{Kind: KindFloat, Float: float64(g.IntN(5)) / 2}
	}
	return &Literal{Kind: KindString, Str: g.pick(modelWords)}
}

func (g modelGen) expr(depth int) Expr {
	if depth > 0 {
		switch g.IntN(4) {
		case 0:
			return &And{Terms: []Expr{g.expr(depth - 1), g.expr(depth - 1)}}
		case 1:
			return &Or{Terms: []Expr{g.expr(depth - 1), g.expr(depth - 1)}}
		case 2:
			return &Not{X: g.expr(depth - 1)}
		}
	}
	id := func() Value { return &Literal{Kind: KindString, Str: g.pick(modelIDs)} }
	switch g.IntN(12) {
	case 0:
		f := g.field(true)
		in := &In{Field: f, Not: g.IntN(2) == 0}
		for k := 1 + g.IntN(3); k > 0; k-- {
			in.Values = append(in.Values, g.value(f, OpEq, true))
		}
		return in
	case 1:
		pats := []string{"%", "affine:%", "%page", "u_", "b%", "%plan%", "a\\_b", "x\\%y", "_"}
		return &Like{Field: g.field(false), Not: g.IntN(2) == 0, Pattern: &Literal{Kind: KindString, Str: g.pick(pats)}}
	case 2:
		f := &Field{Kind: FieldParent}
		if g.IntN(2) == 0 {
			f = &Field{Kind: FieldProp, Prop: g.pick([]string{"title", "n", "done", "missing"})}
		}
		return &Has{Field: f}
	case 3:
		return &LinksTo{ID: id()}
	case 4:
		return &LinkedFrom{ID: id()}
	case 5:
		return &ChildOf{ID: id()}
	case 6:
		return &DescendantOf{ID: id()}
	case 7:
		return &Contains{Field: g.field(false), Text: &Literal{Kind: KindString, Str: g.pick([]string{"", "BUDGET", "plan", "üNï", "affine", "u1"})}}
	}
	f := g.field(true)
	ops := []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe}
	op := ops[g.IntN(len(ops))]
	return &Compare{Field: f, Op: op, Value: g.value(f, op, false)}
}

func (g modelGen) sel() *Select {
	s := &Select{}
	if g.IntN(6) > 0 {
		s.Where = g.expr(g.IntN(4))
	}
	switch g.IntN(4) {
	case 0:
		s.Star = true
	case 1:
		s.Columns = []*Column{{}}
	case 2:
		f := g.field(true)
		s.GroupBy = f
		s.Columns = []*Column{{Field: f}, {}}
		s.OrderBy = []*OrderItem{{Desc: true}, {Field: f}}
	default:
		for k := 1 + g.IntN(3); k > 0; k-- {
			s.Columns = append(s.Columns, &Column{Field: g.field(true)})
		}
		for k := g.IntN(3); k > 0; k-- {
			s.OrderBy = append(s.OrderBy, &OrderItem{Field: g.field(true), Desc: g.IntN(2) == 0})
		}
	}
	if g.IntN(3) == 0 {
		s.Limit = &Literal{Kind: KindInt, Int: int64(g.IntN(5))}
		if g.IntN(2) == 0 {
			s.Offset = &Literal{Kind: KindInt, Int: int64(g.IntN(5))}
		}
	}
	return s
}

// TestExecModel runs random statements over random small workspaces and
// checks that the indexed evaluation (Exec) returns exactly what the
// reference scan returns. The seed is printed; rerun a failure with
// -model.seed=N -model.n=1.
func TestExecModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -model.seed=%d)", seed, seed)
	ctx := context.Background()
	queries, skipped := 0, 0
	for i := 0; i < *modelN; i++ {
		s := seed + uint64(i)
		g := modelGen{rand.New(rand.NewPCG(s, 1))}
		src := NewMemSource(g.workspace())
		if src.Index() == nil {
			t.Fatalf("seed %d: no index", s)
		}
		for q := 0; q < 20; q++ {
			text := Format(g.sel())
			stmt, err := Parse(text)
			if err != nil {
				skipped++
				continue
			}
			queries++
			testAlwaysLookup = q%2 == 0
			got, err := Exec(ctx, stmt, src)
			testAlwaysLookup = false
			if err != nil {
				t.Fatalf("seed %d: %s: %v", s, text, err)
			}
			want, err := execScan(ctx, stmt, src.WithoutIndex())
			if err != nil {
				t.Fatalf("seed %d: %s: scan: %v", s, text, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: %s\nindexed: %v\nscan:    %v\nplan:\n%s", s, text, got.Rows, want.Rows, explainText(t, stmt, src))
			}
		}
	}
	if skipped > queries/10 {
		t.Errorf("%d of %d generated statements did not parse", skipped, queries+skipped)
	}
}

func explainText(t *testing.T, stmt Stmt, src Source) string {
	sel := *stmt.(*Select)
	sel.Explain = true
	res, err := Exec(context.Background(), &sel, src)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, r := range res.Rows {
		fmt.Fprintln(&b, r[0])
	}
	return b.String()
}

// fixture is a small fixed workspace for the EXPLAIN golden test.
func fixture() []Block {
	h := int64(3_600_000)
	return []Block{
		{ID: "page-1", Type: "affine:page", Creator: "ann", Created: base, Updated: base + 30*h, Props: map[string]any{"title": "Budget 2024"}},
		{ID: "page-2", Type: "affine:page", Creator: "bob", Created: base + h, Updated: base + h, Props: map[string]any{"title": "Roadmap", "archived": true}},
		{ID: "note-1", Type: "affine:note", Creator: "ann", Parent: "page-1", Created: base - 1, Updated: base + 2*h, Props: map[string]any{}},
		{ID: "para-1", Type: "affine:paragraph", Creator: "ann", Parent: "note-1", Created: base + 2, Updated: base + 3*h,
			Props: map[string]any{"text": engine.RichText{Text: "the budget, see roadmap"}, "ref": map[string]any{"$ref": "page-2"}}, Links: []string{"page-2"}},
		{ID: "para-2", Type: "affine:paragraph", Creator: "bob", Parent: "note-1", Created: base + 3*h, Updated: base + 50*h, Props: map[string]any{"n": 3.0}},
	}
}

// TestExplainGolden records EXPLAIN of testdata/explain.oql over fixture;
// the statements must also give the same rows indexed and scanned.
func TestExplainGolden(t *testing.T) {
	src := NewMemSource(fixture())
	var buf strings.Builder
	for _, q := range readCorpus(t, "explain.oql") {
		stmt, err := Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		res, err := Exec(context.Background(), stmt, src)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&buf, "%s\n", q)
		for _, r := range res.Rows {
			fmt.Fprintf(&buf, "  %s\n", r[0])
		}
		sel := *stmt.(*Select)
		sel.Explain = false
		got, err := Exec(context.Background(), &sel, src)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := execScan(context.Background(), &sel, src.WithoutIndex())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: indexed %v, scanned %v", q, got.Rows, want.Rows)
		}
		fmt.Fprintf(&buf, "  => %d rows\n\n", len(got.Rows))
	}
	checkGolden(t, "explain.golden", []byte(buf.String()))
}

// TestExecEngine runs statements over a real engine store: the current
// state through NewWorkspaceSource, and an earlier one through AS OF.
func TestExecEngine(t *testing.T) {
	ctx := context.Background()
	clock := time.UnixMilli(base)
	st, err := engine.Open(t.TempDir(), &engine.Options{IdleTimeout: -1, Clock: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws, err := st.Workspace(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	create := func(nbs ...engine.NewBlock) {
		t.Helper()
		_, err := ws.Transact(ctx, "t", func(_ *crdt.Txn, b *engine.Blocks) error {
			for _, nb := range nbs {
				if _, err := b.Create(nb); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	create(engine.NewBlock{ID: "p", Flavour: "affine:page", Creator: "ann", Props: map[string]any{"title": "Plan"}})
	clock = clock.Add(2 * time.Hour)
	create(engine.NewBlock{ID: "q", Flavour: "affine:paragraph", Creator: "bob", Parent: "p",
		Props: map[string]any{"text": engine.RichText{Text: "Budget"}, "ref": map[string]any{"$ref": "p"}}})
	src, err := NewWorkspaceSource(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ q, want string }{
		{"SELECT id FROM blocks WHERE CHILD OF 'p'", "[[q]]"},
		{"SELECT id FROM blocks WHERE LINKS TO 'p' AND prop.text CONTAINS 'budget'", "[[q]]"},
		{"SELECT id FROM blocks WHERE LINKED FROM 'q'", "[[p]]"},
		{"SELECT id FROM blocks WHERE created > '2024-05-01T11:00:00Z'", "[[q]]"},
		{"SELECT COUNT(*) FROM blocks AS OF 1", "[[1]]"},
		{"SELECT id, prop.title FROM blocks AS OF 1", "[[p Plan]]"},
	} {
		stmt, err := Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Exec(ctx, stmt, src)
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if got := fmt.Sprint(res.Rows); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.q, got, tc.want)
		}
		if stmt.(*Select).AsOf == nil {
			want, _ := execScan(ctx, stmt, src.WithoutIndex())
			if !reflect.DeepEqual(res, want) {
				t.Errorf("%s: indexed %v, scanned %v", tc.q, res.Rows, want.Rows)
			}
		}
	}
	for q, want := range map[string]string{
		"SELECT id FROM blocks AS OF '2024-05-01'":                              "[]",
		"SELECT id FROM blocks AS OF '2024-05-01T10:30:00Z'":                    "[[p]]",
		"SELECT id FROM blocks AS OF '2024-05-01T12:29:59.999Z'":                "[[p]]",
		"SELECT id FROM blocks AS OF '2024-05-01T12:30:00Z'":                    "[[p] [q]]",
		"SELECT COUNT(*) FROM blocks AS OF '2030-01-01'":                        "[[2]]",
		"SELECT id FROM blocks WHERE CHILD OF 'p' AS OF 2":                      "[[q]]",
		"SELECT id FROM blocks WHERE CHILD OF 'p' AS OF '2024-05-01T11:00:00Z'": "[]",
	} {
		res, err := Exec(ctx, mustParse(t, q), src)
		if err != nil {
			t.Errorf("%s: %v", q, err)
		} else if got := fmt.Sprint(res.Rows); got != want {
			t.Errorf("%s: got %s, want %s", q, got, want)
		}
	}
	if _, err := Exec(ctx, mustParse(t, "SELECT id FROM blocks AS OF '2024-05-01'"), src.MemSource); !errors.Is(err, ErrUnsupported) {
		t.Errorf("AS OF a time over a MemSource: %v, want ErrUnsupported", err)
	}
	if _, err := Exec(ctx, mustParse(t, "TAIL blocks"), src); !errors.Is(err, ErrUnsupported) {
		t.Errorf("TAIL: %v, want ErrUnsupported", err)
	}
	if _, err := Exec(ctx, mustParse(t, "SELECT id FROM blocks WHERE type = $1"), src); err == nil {
		t.Errorf("unbound parameter: no error")
	}
}

func mustParse(t *testing.T, q string) Stmt {
	t.Helper()
	s, err := Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExecModelEngine is TestExecModel over real engine stores: random
// blocks created, moved and deleted through the Blocks API, read back with
// NewWorkspaceSource (links and rich text as the engine derives them).
func TestExecModelEngine(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -model.seed=%d)", seed, seed)
	ctx := context.Background()
	for i := uint64(0); i < 4; i++ {
		s := seed + i
		g := modelGen{rand.New(rand.NewPCG(s, 2))}
		clock := time.UnixMilli(base)
		st, err := engine.Open(t.TempDir(), &engine.Options{IdleTimeout: -1, Clock: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := st.Workspace(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		var ids []engine.BlockID
		for op := 0; op < 30; op++ {
			clock = clock.Add(time.Duration(g.IntN(3*3600)) * time.Second)
			_, err := ws.Transact(ctx, "t", func(_ *crdt.Txn, b *engine.Blocks) error {
				switch k := g.IntN(6); {
				case k < 4 || len(ids) == 0:
					nb := engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("b%d", op)), Flavour: g.pick(modelTypes[:3]), Creator: g.pick(modelCreators), Props: map[string]any{}}
					if len(ids) > 0 && g.IntN(3) > 0 {
						if p := ids[g.IntN(len(ids))]; b.Has(p) {
							nb.Parent = p
						}
					}
					if g.IntN(2) == 0 {
						nb.Props["title"] = g.pick(modelWords)
					}
					if g.IntN(2) == 0 {
						nb.Props["text"] = engine.RichText{Text: g.pick(modelWords)}
					}
					if len(ids) > 0 && g.IntN(2) == 0 {
						nb.Props["ref"] = map[string]any{"$ref": string(ids[g.IntN(len(ids))])}
					}
					if g.IntN(2) == 0 {
						nb.Props["n"] = float64(g.IntN(4))
					}
					id, err := b.Create(nb)
					if err == nil {
						ids = append(ids, id)
					}
					return err
				case k == 4:
					err := b.Move(ids[g.IntN(len(ids))], ids[g.IntN(len(ids))], -1)
					if errors.Is(err, engine.ErrCycle) || errors.Is(err, engine.ErrNotFound) {
						return nil
					}
					return err
				default:
					j := g.IntN(len(ids))
					err := b.Delete(ids[j], g.IntN(2) == 0)
					if errors.Is(err, engine.ErrNotFound) {
						return nil
					}
					return err
				}
			})
			if err != nil {
				t.Fatalf("seed %d: %v", s, err)
			}
		}
		src, err := NewWorkspaceSource(ctx, ws)
		if err != nil {
			t.Fatal(err)
		}
		nonEmpty, links := 0, 0
		for _, b := range src.Blocks() {
			links += len(b.Links)
		}
		for q := 0; q < 200; q++ {
			sel := g.sel()
			// Use the ids the workspace has.
			Inspect(sel, func(n Node) bool {
				if l, ok := n.(*Literal); ok && l.Kind == KindString && len(l.Str) == 1 && len(ids) > 0 {
					l.Str = string(ids[g.IntN(len(ids))])
				}
				return true
			})
			text := Format(sel)
			stmt, err := Parse(text)
			if err != nil {
				continue
			}
			testAlwaysLookup = q%2 == 0
			got, err := Exec(ctx, stmt, src)
			testAlwaysLookup = false
			if err != nil {
				t.Fatalf("seed %d: %s: %v", s, text, err)
			}
			want, err := execScan(ctx, stmt, src.WithoutIndex())
			if err != nil {
				t.Fatalf("seed %d: %s: %v", s, text, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: %s\nindexed: %v\nscan:    %v\nplan:\n%s", s, text, got.Rows, want.Rows, explainText(t, stmt, src))
			}
			if len(got.Rows) > 0 && sel.Where != nil {
				nonEmpty++
			}
		}
		t.Logf("seed %d: %d blocks, %d links, %d statements with a WHERE returned rows", s, len(src.Blocks()), links, nonEmpty)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestExecConcurrent runs statements over one source from many goroutines
// (the first ones race to build the index); run it with -race.
func TestExecConcurrent(t *testing.T) {
	src := NewMemSource(fixture())
	stmt := mustParse(t, "SELECT id FROM blocks WHERE DESCENDANT OF 'page-1' AND prop.text CONTAINS 'budget'")
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			res, err := Exec(context.Background(), stmt, src)
			if err == nil && fmt.Sprint(res.Rows) != "[[para-1]]" {
				err = fmt.Errorf("got %v", res.Rows)
			}
			errs <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestFirstN checks the top-n selection against a full stable sort.
func TestFirstN(t *testing.T) {
	g := rand.New(rand.NewPCG(1, 3))
	for iter := 0; iter < 2000; iter++ {
		n := g.IntN(200)
		keys := make([]int, n)
		for i := range keys {
			keys[i] = g.IntN(10)
		}
		less := func(a, b int) bool {
			if keys[a] != keys[b] {
				return keys[a] < keys[b]
			}
			return a < b
		}
		want := make([]int, n)
		for i := range want {
			want[i] = i
		}
		sort.SliceStable(want, func(a, b int) bool { return keys[want[a]] < keys[want[b]] })
		k := g.IntN(n + 1)
		if got := firstN(n, k, less); !reflect.DeepEqual(got, want[:k]) && !(k == 0 && len(got) == 0) {
			t.Fatalf("n %d k %d: got %v, want %v", n, k, got, want[:k])
		}
	}
}
