package query

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
)

// clockMu guards the clock editor.edit advances, which the engine reads
// from its own goroutines (a subscription that ends touches the
// workspace's idle time).
var clockMu sync.Mutex

// editor makes random edits of a workspace through the Blocks API: creates
// (with parents, links, props, rich text), moves, deletes, prop changes.
type editor struct {
	g     modelGen
	ws    *engine.Workspace
	ids   []engine.BlockID
	n     int
	clock *time.Time
}

func (e *editor) edit(t testing.TB) {
	t.Helper()
	g := e.g
	clockMu.Lock()
	*e.clock = e.clock.Add(time.Duration(g.IntN(3*3600)) * time.Second)
	clockMu.Unlock()
	e.n++
	_, err := e.ws.Transact(context.Background(), fmt.Sprintf("o%d", e.n%3), func(_ *crdt.Txn, b *engine.Blocks) error {
		ids := e.ids
		pickLive := func() (engine.BlockID, bool) {
			if len(ids) == 0 {
				return "", false
			}
			id := ids[g.IntN(len(ids))]
			return id, b.Has(id)
		}
		switch k := g.IntN(10); {
		case k < 4 || len(ids) == 0:
			nb := engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("b%d", e.n)), Flavour: g.pick(modelTypes[:3]),
				Creator: g.pick(modelCreators), Props: map[string]any{}}
			if p, ok := pickLive(); ok && g.IntN(3) > 0 {
				nb.Parent = p
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
			id, err := b.Create(nb)
			if err == nil {
				e.ids = append(e.ids, id)
			}
			return err
		case k == 4:
			a, _ := pickLive()
			p, _ := pickLive()
			if g.IntN(4) == 0 {
				p = ""
			}
			err := b.Move(a, p, -1)
			if errors.Is(err, engine.ErrCycle) || errors.Is(err, engine.ErrNotFound) {
				return nil
			}
			return err
		case k == 5:
			err := b.Delete(ids[g.IntN(len(ids))], g.IntN(2) == 0)
			if errors.Is(err, engine.ErrNotFound) {
				return nil
			}
			return err
		case k == 6:
			id, ok := pickLive()
			if !ok {
				return nil
			}
			return b.SetProp(id, "title", g.pick(modelWords))
		case k == 7:
			id, ok := pickLive()
			if !ok {
				return nil
			}
			return b.RemoveProp(id, g.pick([]string{"title", "ref", "n"}))
		case k == 8:
			id, ok := pickLive()
			if !ok {
				return nil
			}
			return b.SetProp(id, "ref", map[string]any{"$ref": string(ids[g.IntN(len(ids))])})
		default:
			id, ok := pickLive()
			if !ok {
				return nil
			}
			return b.SetProp(id, "n", float64(g.IntN(4)))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// expectedTail is the reference: the full change list (a Subscribe from 1
// with no filter), each block of the default space kept when the naive
// evaluator (Compile over FromView of ReadAt views) says it matches right
// before or right after its change.
func expectedTail(t *testing.T, ws *engine.Workspace, where Expr, from, last oplog.LSN) []TailEvent {
	t.Helper()
	ctx := context.Background()
	sub, err := ws.Subscribe(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var out []TailEvent
	if from > last {
		return nil
	}
	prev := viewSource(t, ws, from-1)
	for ch := range sub.C {
		cur := viewSource(t, ws, ch.LSN)
		ev := TailEvent{LSN: ch.LSN, Time: ch.Time, Origin: ch.Origin}
		if where == nil {
			ev.Blocks = ch.Blocks
			out = append(out, ev)
		} else {
			pb, err := Compile(where, prev)
			if err != nil {
				t.Fatal(err)
			}
			pa, err := Compile(where, cur)
			if err != nil {
				t.Fatal(err)
			}
			for _, bc := range ch.Blocks {
				if bc.Space != engine.DefaultSpace {
					continue
				}
				b, inBefore := prev.Block(string(bc.ID))
				a, inAfter := cur.Block(string(bc.ID))
				if (inBefore && pb(&b)) || (inAfter && pa(&a)) {
					ev.Blocks = append(ev.Blocks, bc)
				}
			}
			if len(ev.Blocks) > 0 {
				out = append(out, ev)
			}
		}
		prev = cur
		if ch.LSN == last {
			break
		}
	}
	return out
}

func viewSource(t *testing.T, ws *engine.Workspace, lsn oplog.LSN) *MemSource {
	t.Helper()
	v, err := ws.ReadAt(context.Background(), lsn)
	if err != nil {
		t.Fatal(err)
	}
	return FromView(v)
}

// collect reads n events from s, failing after a timeout.
func collect(t *testing.T, s *TailStream, n int) []TailEvent {
	t.Helper()
	var out []TailEvent
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case ev, ok := <-s.C:
			if !ok {
				t.Fatalf("stream ended after %d of %d events: %v", len(out), n, s.Err())
			}
			out = append(out, ev)
		case <-timeout:
			t.Fatalf("timeout after %d of %d events", len(out), n)
		}
	}
	return out
}

// TestTailModel: random workspaces, some history, then several filtered
// streams (random predicates, random start: a replay position or FROM NOW)
// while more edits arrive. Every stream's events must equal the reference
// (expectedTail): nothing missing at the history/live boundary, nothing
// twice, nothing extra. A tiny subscriber buffer in odd rounds makes the
// engine switch streams back to reading the log mid-way.
func TestTailModel(t *testing.T) {
	seed := *modelSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -model.seed=%d)", seed, seed)
	ctx := context.Background()
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	matched := 0
	for i := uint64(0); i < uint64(rounds); i++ {
		s := seed + i
		g := modelGen{rand.New(rand.NewPCG(s, 3))}
		clock := time.UnixMilli(base)
		opts := &engine.Options{IdleTimeout: -1, SnapshotRecords: 7, Clock: func() time.Time {
			clockMu.Lock()
			defer clockMu.Unlock()
			return clock
		}}
		if i%2 == 1 {
			opts.SubscriberBuffer = 2
		}
		// Every third round the hub detaches a stream as soon as it has
		// two undelivered events (the test reads one stream at a time), so
		// streams go back to private replicas and join again.
		tailQueueMax = 1024
		if i%3 == 2 {
			tailQueueMax = 2
		}
		st, err := engine.Open(t.TempDir(), opts)
		if err != nil {
			t.Fatal(err)
		}
		ws, err := st.Workspace(ctx, "w")
		if err != nil {
			t.Fatal(err)
		}
		ed := &editor{g: g, ws: ws, clock: &clock}
		for range 15 + g.IntN(20) {
			ed.edit(t)
		}
		mid, _ := ws.LastLSN(ctx)

		type stream struct {
			where string
			expr  Expr
			from  oplog.LSN
			start oplog.LSN
			s     *TailStream
		}
		var streams []*stream
		for k := 0; k < 8; k++ {
			sm := &stream{}
			if k > 0 {
				e := g.expr(g.IntN(3))
				Inspect(e, func(n Node) bool {
					if l, ok := n.(*Literal); ok && l.Kind == KindString && len(l.Str) == 1 && len(ed.ids) > 0 {
						l.Str = string(ed.ids[g.IntN(len(ed.ids))])
					}
					return true
				})
				sm.where = FormatExpr(e)
				parsed, err := ParseExpr(sm.where)
				if err != nil {
					continue
				}
				sm.expr = parsed
			}
			switch g.IntN(3) {
			case 0:
				sm.from, sm.start = 0, mid+1
			case 1:
				sm.from = 1
			default:
				sm.from = oplog.LSN(1 + g.IntN(int(mid)+1))
			}
			if sm.from > 0 {
				sm.start = sm.from
			}
			if sm.s, err = OpenTail(ctx, ws, sm.where, nil, sm.from); err != nil {
				t.Fatalf("seed %d: OpenTail(%q, %d): %v", s, sm.where, sm.from, err)
			}
			streams = append(streams, sm)
		}
		for range 15 + g.IntN(20) {
			ed.edit(t)
		}
		last, _ := ws.LastLSN(ctx)
		for _, sm := range streams {
			want := expectedTail(t, ws, sm.expr, sm.start, last)
			got := collect(t, sm.s, len(want))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: TAIL WHERE %s FROM %d:\ngot  %v\nwant %v", s, sm.where, sm.from, got, want)
			}
			if sm.expr != nil {
				for _, ev := range got {
					matched += len(ev.Blocks)
				}
			}
		}
		// Nothing beyond the reference: no stream has more to deliver.
		time.Sleep(20 * time.Millisecond)
		filtered := 0
		for _, sm := range streams {
			select {
			case ev := <-sm.s.C:
				t.Fatalf("seed %d: TAIL WHERE %s FROM %d: extra event %v", s, sm.where, sm.from, ev)
			default:
			}
			if sm.expr != nil {
				filtered++
			}
		}
		// Caught up, every filtered stream shares the workspace's one hub.
		waitHubStreams(t, ws, filtered)
		for _, sm := range streams {
			sm.s.Close()
			if err := sm.s.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err after Close = %v", err)
			}
		}
		if n, ok := hubStreams(ws); ok {
			t.Fatalf("seed %d: a hub with %d streams outlives its last stream", s, n)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tailQueueMax = 1024
	if matched == 0 {
		t.Fatal("no predicate matched anything: the test checks nothing")
	}
	t.Logf("%d matching block changes checked", matched)
}

// TestTailSemantics pins the documented cases: a block reported when it
// starts matching, while it matches, when it stops (moved away, deleted),
// and DESCENDANT OF evaluated at the change's own LSN even when replayed
// after the tree changed.
func TestTailSemantics(t *testing.T) {
	ctx := context.Background()
	ws := testWorkspace(t, nil)
	tx := func(fn func(b *engine.Blocks) error) oplog.LSN {
		t.Helper()
		lsn, err := ws.Transact(ctx, "me", func(_ *crdt.Txn, b *engine.Blocks) error { return fn(b) })
		if err != nil {
			t.Fatal(err)
		}
		return lsn
	}
	create := func(id, parent string) func(b *engine.Blocks) error {
		return func(b *engine.Blocks) error {
			_, err := b.Create(engine.NewBlock{ID: engine.BlockID(id), Flavour: "affine:paragraph", Creator: "u", Parent: engine.BlockID(parent)})
			return err
		}
	}
	l1 := tx(create("root", ""))
	l2 := tx(create("other", ""))
	l3 := tx(create("p", "root"))
	l4 := tx(create("c", "p"))
	l5 := tx(func(b *engine.Blocks) error { return b.SetProp("c", "title", "x") })
	l6 := tx(func(b *engine.Blocks) error { return b.Move("p", "other", -1) })
	l7 := tx(func(b *engine.Blocks) error { return b.SetProp("c", "title", "y") })
	l8 := tx(func(b *engine.Blocks) error { return b.Delete("p", true) })
	_, _ = l1, l2

	s, err := OpenTail(ctx, ws, "DESCENDANT OF $1", []any{"root"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := collect(t, s, 4) // events at l3, l4, l5, l6
	var summary []string
	for _, ev := range got {
		for _, b := range ev.Blocks {
			summary = append(summary, fmt.Sprintf("%d %s %s", ev.LSN, b.ID, b.Op))
		}
	}
	want := []string{
		fmt.Sprintf("%d p created", l3),
		fmt.Sprintf("%d c created", l4),
		fmt.Sprintf("%d p updated", l4), // its children changed
		fmt.Sprintf("%d c updated", l5), // c is under root at l5, not any more at l7
		fmt.Sprintf("%d p updated", l6), // p moves away: matched before the change
	}
	if !slices.Equal(summary, want) {
		t.Fatalf("got %q, want %q", summary, want)
	}
	_, _ = l7, l8

	// Live: start FROM NOW, then delete a matching block.
	s2, err := OpenTail(ctx, ws, "CHILD OF 'root' OR type = 'affine:page'", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	tx(create("q", "root"))
	tx(create("unrelated", "other"))
	l := tx(func(b *engine.Blocks) error { return b.Delete("q", false) })
	got = collect(t, s2, 2)
	if len(got) != 2 || got[0].Blocks[0].ID != "q" || got[1].LSN != l || got[1].Blocks[0].Op != engine.Deleted {
		t.Fatalf("live events %+v", got)
	}

	// Every change, no predicate: also changes that touch no block.
	s3, err := OpenTail(ctx, ws, "", nil, l)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	tx(func(b *engine.Blocks) error { return b.SetMeta("name", "n") })
	got = collect(t, s3, 2)
	if got[0].LSN != l || got[1].LSN != l+1 || len(got[1].Blocks) != 0 {
		t.Fatalf("unfiltered events %+v", got)
	}
}

func TestTailErrors(t *testing.T) {
	ctx := context.Background()
	st, err := engine.Open(t.TempDir(), &engine.Options{IdleTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws, err := st.Workspace(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	var qe *Error
	if _, err := OpenTail(ctx, ws, "type = ", nil, 0); !errors.As(err, &qe) {
		t.Fatalf("bad predicate: %v", err)
	}
	if _, err := OpenTail(ctx, ws, "type = $1", nil, 0); !errors.As(err, &qe) {
		t.Fatalf("missing parameter: %v", err)
	}
	if _, err := OpenTail(ctx, ws, "", []any{1}, 0); !errors.As(err, &qe) {
		t.Fatalf("parameters without predicate: %v", err)
	}
	if _, err := OpenTail(ctx, ws, "", nil, 5); !errors.Is(err, engine.ErrFuture) {
		t.Fatalf("future start: %v", err)
	}
	// The stream ends with the store.
	s, err := OpenTail(ctx, ws, "HAS parent", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for range s.C {
	}
	if err := s.Err(); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Err after Store.Close = %v", err)
	}
}

// TestTailStmt runs TAIL statements (bound, with FROM) through TailStmt.
func TestTailStmt(t *testing.T) {
	ctx := context.Background()
	ws := testWorkspace(t, nil)
	for i, f := range []string{"affine:page", "affine:paragraph", "affine:page"} {
		if _, err := ws.Transact(ctx, "o", func(_ *crdt.Txn, b *engine.Blocks) error {
			_, err := b.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprint("b", i)), Flavour: f, Creator: "u"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	stmt, err := Parse("TAIL blocks WHERE type = $1 FROM 2")
	if err != nil {
		t.Fatal(err)
	}
	bound, err := Bind(stmt, []any{"affine:page"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := TailStmt(ctx, ws, bound)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := collect(t, s, 1)
	if got[0].LSN != 3 || got[0].Blocks[0].ID != "b2" {
		t.Fatalf("got %+v", got)
	}
	if _, err := TailStmt(ctx, ws, stmt); err == nil {
		t.Fatal("TailStmt of an unbound statement succeeded")
	}
}

// hubStreams returns how many streams the hub of ws serves, and whether
// ws has a hub.
func hubStreams(ws *engine.Workspace) (int, bool) {
	hubs.Lock()
	defer hubs.Unlock()
	h := hubs.m[ws]
	if h == nil {
		return 0, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.mu.streams), true
}

// waitHubStreams waits until the hub of ws serves n streams (those that
// catch up join it when idle).
func waitHubStreams(t *testing.T, ws *engine.Workspace, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, ok := hubStreams(ws)
		if got == n && (ok || n == 0) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub serves %d streams (hub: %v), want %d", got, ok, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTailHubShared: filtered streams FROM NOW share one hub, built once
// (one state rebuild for all of them); a stream replaying history rebuilds
// its own state, then joins the hub without a gap or a duplicate; the hub
// closes with its last stream.
func TestTailHubShared(t *testing.T) {
	ctx := context.Background()
	ws := testWorkspace(t, nil)
	create := func(id, flavour string) oplog.LSN {
		t.Helper()
		lsn, err := ws.Transact(ctx, "me", func(_ *crdt.Txn, b *engine.Blocks) error {
			_, err := b.Create(engine.NewBlock{ID: engine.BlockID(id), Flavour: flavour, Creator: "u"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return lsn
	}
	for i := range 5 {
		create(fmt.Sprint("old", i), "affine:page")
	}
	before := replicasOpened.Load()
	const n = 10
	var streams []*TailStream
	for i := range n {
		s, err := OpenTail(ctx, ws, "type = $1", []any{fmt.Sprint("t", i%2)}, 0)
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, s)
	}
	if got := replicasOpened.Load() - before; got != 1 {
		t.Fatalf("%d FROM NOW streams rebuilt the state %d times, want once", n, got)
	}
	waitHubStreams(t, ws, n)
	// A stream from the start replays privately, then joins.
	hist, err := OpenTail(ctx, ws, "type = 'affine:page' OR type = 't1'", nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	var lsns []oplog.LSN
	for i := range 6 {
		lsns = append(lsns, create(fmt.Sprint("new", i), fmt.Sprint("t", i%2)))
	}
	for i, s := range streams {
		got := collect(t, s, 3)
		for k, ev := range got {
			if want := lsns[i%2+2*k]; ev.LSN != want || len(ev.Blocks) != 1 || ev.Blocks[0].ID != engine.BlockID(fmt.Sprint("new", i%2+2*k)) {
				t.Fatalf("stream %d event %d: %+v, want the block created at %d", i, k, ev, want)
			}
		}
	}
	got := collect(t, hist, 8) // 5 pages, then new1, new3, new5
	var ids []string
	for _, ev := range got {
		ids = append(ids, string(ev.Blocks[0].ID))
	}
	if want := []string{"old0", "old1", "old2", "old3", "old4", "new1", "new3", "new5"}; !slices.Equal(ids, want) {
		t.Fatalf("history stream: %q, want %q", ids, want)
	}
	waitHubStreams(t, ws, n+1)
	if got := replicasOpened.Load() - before; got != 2 {
		t.Fatalf("state rebuilt %d times, want 2 (the hub, the history stream)", got)
	}
	hist.Close()
	for _, s := range streams {
		s.Close()
		if !errors.Is(s.Err(), context.Canceled) {
			t.Fatalf("Err after Close = %v", s.Err())
		}
	}
	waitHubStreams(t, ws, 0)
}

// testWorkspace opens workspace "w" of a new store (opts nil: defaults,
// never closed as idle), closed when the test ends.
func testWorkspace(t *testing.T, opts *engine.Options) *engine.Workspace {
	t.Helper()
	if opts == nil {
		opts = &engine.Options{IdleTimeout: -1}
	}
	st, err := engine.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ws, err := st.Workspace(context.Background(), "w")
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
