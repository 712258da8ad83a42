// Package querybench measures OQL over the engine's roaring-bitmap
// indexes on a generated workspace (`octobase bench query`): selective
// queries answered through the index against the same queries answered by
// a full scan in the same run, the cost of keeping the index up to date per
// applied update against the time of the update itself, and the index's
// memory per million blocks.
package querybench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/index"
	"octobase/oplog"
	"octobase/query"
)

// Options configure Run. The zero value is the full benchmark: 1,000,000
// blocks, 100 creators, 300 indexed and 5 scanned runs of each query,
// 20,000 updates.
type Options struct {
	Blocks   int    // blocks to generate; 0 means 1,000,000
	Creators int    // distinct creators; 0 means 100
	Runs     int    // timed indexed runs per query kind; 0 means 300
	Scans    int    // timed full-scan runs per query kind; 0 means 5
	Updates  int    // updates for the maintenance measurement; 0 means 20,000
	Dir      string // store directory; "" means a temporary one, removed afterwards
	// Profile, if set, receives a CPU profile of the index upkeep
	// measurement (the updates without index reads).
	Profile string
	Seed    uint64
	// Progress receives progress lines (nil: none).
	Progress io.Writer
}

func (o *Options) defaults() {
	if o.Blocks <= 0 {
		o.Blocks = 1_000_000
	}
	if o.Creators <= 0 {
		o.Creators = 100
	}
	if o.Runs <= 0 {
		o.Runs = 300
	}
	if o.Scans <= 0 {
		o.Scans = 5
	}
	if o.Updates <= 0 {
		o.Updates = 20_000
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// QueryResult is one query kind, measured through the index and by scan.
type QueryResult struct {
	Name      string  `json:"name"`
	Statement string  `json:"statement"`
	Rows      float64 `json:"avg_rows"` // average result size over the indexed runs
	IndexP50  float64 `json:"index_p50_ms"`
	IndexP99  float64 `json:"index_p99_ms"`
	ScanP50   float64 `json:"scan_p50_ms"`
	ScanP99   float64 `json:"scan_p99_ms"` // the slowest scan when there are fewer than 100
	Speedup   float64 `json:"speedup_p50"` // ScanP50 / IndexP50
	// ViewP50 is the indexed query run in place over the live view
	// (query.NewViewSource inside Workspace.View), no copy of the blocks.
	ViewP50 float64 `json:"view_p50_ms"`
}

// Report is everything Run measured.
type Report struct {
	Blocks      int           `json:"blocks"`
	Updates     int           `json:"updates"`
	Creators    int           `json:"creators"`
	MaxDepth    int           `json:"max_depth"`
	Links       int           `json:"links"`
	BuildSecs   float64       `json:"build_seconds"`
	Queries     []QueryResult `json:"queries"`
	ApplyUS     float64       `json:"apply_us_per_update"`        // Transact, SyncNone: mean
	ApplyP50US  float64       `json:"apply_p50_us"`               // Transact, SyncNone: median
	IndexUS     float64       `json:"index_us_per_update"`        // the engine's live index upkeep (StoreStats.IndexTime), part of ApplyUS
	IndexShare  float64       `json:"index_share"`                // IndexUS / ApplyUS
	IndexOneUS  float64       `json:"index_us_per_update_single"` // the same with an index read after every update
	ApplyOneUS  float64       `json:"apply_us_per_update_single"` // Transact plus the index read, mean
	IndexBytes  uint64        `json:"index_bytes"`                // index.Stats estimate
	HeapBytes   uint64        `json:"index_heap_bytes"`           // live heap of a fresh index over the blocks
	RebuildSecs float64       `json:"index_rebuild_seconds"`      // building the index from the blocks
	FileBytes   int           `json:"index_file_bytes"`
	WriteSecs   float64       `json:"index_write_seconds"`
	LoadSecs    float64       `json:"index_load_seconds"`
}

// Run generates the workspace, measures and prints the results to w.
func Run(ctx context.Context, opts Options, w io.Writer) (*Report, error) {
	opts.defaults()
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "octobase-bench-query-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	var clock atomic.Int64 // ms; the generator moves it an hour per transaction
	clock.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli())
	st, err := engine.Open(dir, &engine.Options{Durability: oplog.SyncNone, IdleTimeout: -1, SnapshotRecords: -1, SnapshotBytes: -1,
		Clock: func() time.Time { return time.UnixMilli(clock.Load()) }})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ws, err := st.Workspace(ctx, "bench")
	if err != nil {
		return nil, err
	}
	rep := &Report{Blocks: opts.Blocks, Updates: opts.Updates, Creators: opts.Creators}
	start := time.Now()
	g, err := generate(ctx, ws, opts, rep, &clock)
	if err != nil {
		return nil, err
	}
	rep.BuildSecs = time.Since(start).Seconds()
	fmt.Fprintf(opts.Progress, "query: built %d blocks (max depth %d, %d links) in %.1fs\n", opts.Blocks, rep.MaxDepth, rep.Links, rep.BuildSecs)

	var src *query.MemSource
	if err := ws.View(ctx, func(v *engine.ReadView) error { src = query.FromView(v); return nil }); err != nil {
		return nil, err
	}
	if src.Index() == nil {
		return nil, fmt.Errorf("querybench: the workspace has no index")
	}
	scan := src.WithoutIndex()
	for _, q := range g.queries() {
		r, err := measure(ctx, ws, src, scan, q, opts)
		if err != nil {
			return nil, err
		}
		rep.Queries = append(rep.Queries, r)
		fmt.Fprintf(opts.Progress, "query: %s: index p50 %.3f ms, scan p50 %.1f ms (%.0f×)\n", r.Name, r.IndexP50, r.ScanP50, r.Speedup)
	}
	if err := indexCosts(src, rep, opts); err != nil {
		return nil, err
	}
	if err := maintenance(ctx, st, ws, g, rep, opts); err != nil {
		return nil, err
	}
	print(w, rep)
	return rep, nil
}

// Flavours of the generated blocks below notes, with weights (AFFiNE-like).
var flavours = []struct {
	name   string
	weight int
}{
	{"affine:paragraph", 55}, {"affine:list", 20}, {"affine:image", 5}, {"affine:code", 4},
	{"affine:divider", 3}, {"affine:bookmark", 3}, {"affine:attachment", 2}, {"affine:database", 2},
	{"affine:embed-linked-doc", 3}, {"affine:latex", 1}, {"affine:callout", 2},
}

type gen struct {
	rng      *rand.Rand
	ids      []engine.BlockID
	depth    []uint8 // of each block: 0 for pages, 1 for notes, ...
	pages    []engine.BlockID
	creators int
	total    int
}

func (g *gen) creator() string {
	// Skewed: a few creators write most blocks, as in a real team.
	k := int(float64(g.creators) * g.rng.Float64() * g.rng.Float64())
	return fmt.Sprintf("user-%03d", k)
}

func (g *gen) flavour() string {
	n := g.rng.IntN(100)
	for _, f := range flavours {
		if n < f.weight {
			return f.name
		}
		n -= f.weight
	}
	return flavours[0].name
}

// generate creates opts.Blocks blocks in pages of 200: a page (root), a
// note under it, and a tree below the note reaching depth 8, each block
// under a random earlier block of its page less than 8 deep; one block in
// ten links to an earlier page, one in fifty to an earlier block. Each
// transaction creates 2,000 blocks an hour after the previous one.
func generate(ctx context.Context, ws *engine.Workspace, opts Options, rep *Report, clock *atomic.Int64) (*gen, error) {
	g := &gen{rng: rand.New(rand.NewPCG(opts.Seed, 17)), creators: opts.Creators, total: opts.Blocks}
	const perTxn = 2000
	lastReport := 0
	for len(g.ids) < opts.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clock.Add(3_600_000)
		_, err := ws.Transact(ctx, "bench", func(_ *crdt.Txn, b *engine.Blocks) error {
			for k := 0; k < perTxn && len(g.ids) < opts.Blocks; k++ {
				i := len(g.ids)
				nb := engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("blk-%07d", i)), Creator: g.creator()}
				var depth uint8
				switch pageStart := i - i%200; {
				case i == pageStart:
					nb.Flavour = "affine:page"
					nb.Props = map[string]any{"title": engine.RichText{Text: fmt.Sprintf("Page %d", i/200)}}
					g.pages = append(g.pages, nb.ID)
				case i == pageStart+1:
					nb.Flavour, nb.Parent, depth = "affine:note", g.ids[i-1], 1
				default:
					nb.Flavour = g.flavour()
					// A random earlier block of this page that may take a
					// child (the note, at depth 1, always can).
					for {
						p := pageStart + 1 + g.rng.IntN(i-pageStart-1)
						if g.depth[p] < 7 {
							nb.Parent, depth = g.ids[p], g.depth[p]+1
							break
						}
					}
					nb.Props = map[string]any{"text": engine.RichText{Text: fmt.Sprintf("block %d of the benchmark workspace", i)}}
					switch r := g.rng.IntN(50); {
					case r < 5 && len(g.pages) > 1:
						nb.Props["ref"] = map[string]any{"$ref": string(g.pages[g.rng.IntN(len(g.pages)-1)])}
						rep.Links++
					case r == 5:
						nb.Props["ref"] = map[string]any{"$ref": string(g.ids[g.rng.IntN(i)])}
						rep.Links++
					}
				}
				if _, err := b.Create(nb); err != nil {
					return err
				}
				g.ids = append(g.ids, nb.ID)
				g.depth = append(g.depth, depth)
				rep.MaxDepth = max(rep.MaxDepth, int(depth))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(g.ids)-lastReport >= 100_000 || len(g.ids) == opts.Blocks {
			lastReport = len(g.ids)
			fmt.Fprintf(opts.Progress, "query: %d/%d blocks\n", len(g.ids), opts.Blocks)
		}
	}
	return g, nil
}

// A querySpec is one kind of selective query with a parameter generator.
type querySpec struct {
	name   string
	stmt   string
	params func() []any
}

func (g *gen) queries() []querySpec {
	rng := rand.New(rand.NewPCG(1, 2))
	return []querySpec{
		{"type+creator", "SELECT id FROM blocks WHERE type = $1 AND creator = $2", func() []any {
			return []any{flavours[2+rng.IntN(len(flavours)-2)].name, fmt.Sprintf("user-%03d", rng.IntN(g.creators))}
		}},
		{"backlinks", "SELECT id FROM blocks WHERE LINKS TO $1", func() []any {
			return []any{string(g.pages[rng.IntN(len(g.pages))])}
		}},
		{"children", "SELECT id FROM blocks WHERE CHILD OF $1", func() []any {
			return []any{string(g.ids[rng.IntN(len(g.ids))])}
		}},
	}
}

// measure times opts.Runs indexed runs of q (over the copied blocks, and
// in place over the live view), then, after a garbage collection, the
// first opts.Scans statements again by scan, whose results must be equal.
// Scans run apart from the indexed runs: each allocates a copy of every
// block, and the collections that triggers would land on indexed runs.
func measure(ctx context.Context, ws *engine.Workspace, src, scan query.Source, q querySpec, opts Options) (QueryResult, error) {
	r := QueryResult{Name: q.name, Statement: q.stmt}
	parsed, err := query.Parse(q.stmt)
	if err != nil {
		return r, err
	}
	var idx, view, scans []float64
	var stmts []query.Stmt
	var results []*query.Result
	rows := 0
	runtime.GC()
	for i := 0; i < opts.Runs; i++ {
		stmt, err := query.Bind(parsed, q.params())
		if err != nil {
			return r, err
		}
		t0 := time.Now()
		res, err := query.Exec(ctx, stmt, src)
		idx = append(idx, ms(time.Since(t0)))
		if err != nil {
			return r, err
		}
		rows += len(res.Rows)
		err = ws.View(ctx, func(v *engine.ReadView) error {
			t0 := time.Now()
			_, err := query.Exec(ctx, stmt, query.NewViewSource(v))
			view = append(view, ms(time.Since(t0)))
			return err
		})
		if err != nil {
			return r, err
		}
		if i < opts.Scans {
			stmts, results = append(stmts, stmt), append(results, res)
		}
	}
	runtime.GC()
	for i, stmt := range stmts {
		t0 := time.Now()
		want, err := query.Exec(ctx, stmt, scan)
		scans = append(scans, ms(time.Since(t0)))
		if err != nil {
			return r, err
		}
		if !reflect.DeepEqual(results[i], want) {
			return r, fmt.Errorf("querybench: %s: the index and the scan disagree (%d and %d rows)", query.Format(stmt), len(results[i].Rows), len(want.Rows))
		}
	}
	r.Rows = float64(rows) / float64(opts.Runs)
	r.IndexP50, r.IndexP99 = pct(idx, 50), pct(idx, 99)
	r.ViewP50 = pct(view, 50)
	r.ScanP50, r.ScanP99 = pct(scans, 50), pct(scans, 99)
	if r.IndexP50 > 0 {
		r.Speedup = r.ScanP50 / r.IndexP50
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// pct returns the p-th percentile (nearest rank) of xs.
func pct(xs []float64, p int) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := (p*len(s) + 99) / 100
	return s[max(k-1, 0)]
}

func changeOf(b query.Block) index.BlockChange {
	return index.BlockChange{ID: b.ID, Flavour: b.Type, Creator: b.Creator, Parent: b.Parent,
		Links: b.Links, Created: b.Created, Updated: b.Updated}
}

// indexCosts measures the index over the generated blocks: memory (the
// Stats estimate and the heap it really takes), the time to build it from
// the blocks in one batch (what recovery does without an index file), and
// the size and write and load times of its file.
func indexCosts(src *query.MemSource, rep *Report, opts Options) error {
	blocks := src.Blocks()
	changes := make([]index.BlockChange, len(blocks))
	for i, b := range blocks {
		changes[i] = changeOf(b)
	}
	blocks = nil
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	ix := index.New()
	if err := ix.Apply(changes); err != nil {
		return err
	}
	rep.RebuildSecs = time.Since(t0).Seconds()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(changes) // allocated before m0: not part of the difference
	if m1.HeapAlloc > m0.HeapAlloc {
		rep.HeapBytes = m1.HeapAlloc - m0.HeapAlloc
	}
	rep.IndexBytes = ix.Stats().Bytes
	var buf bytes.Buffer
	t0 = time.Now()
	if _, err := ix.WriteTo(&buf); err != nil {
		return err
	}
	rep.WriteSecs = time.Since(t0).Seconds()
	rep.FileBytes = buf.Len()
	t0 = time.Now()
	if _, err := index.New().ReadFrom(&buf); err != nil {
		return err
	}
	rep.LoadSecs = time.Since(t0).Seconds()
	runtime.KeepAlive(ix)
	fmt.Fprintf(opts.Progress, "query: index %.0f MB (heap %.0f MB), rebuilt in %.2fs, file %.0f MB\n",
		float64(rep.IndexBytes)/1e6, float64(rep.HeapBytes)/1e6, rep.RebuildSecs, float64(rep.FileBytes)/1e6)
	return nil
}

// maintenance applies opts.Updates updates to the workspace through
// Transact (in turn: a block created under a random block, a title set, a
// block moved under a random page), timing each, and reads the time the
// engine spent keeping its live index up to date (StoreStats.IndexTime)
// over the same updates: with no query in between, the engine queues the
// index changes and applies them in batches of 1,024, and the index
// settles its deferred bucket moves every 16,384 of them (index/pending.go),
// so the default 20,000 updates include a settlement. Then a tenth as
// many updates (at least 100), each followed by an index read (a query
// after every write: every update its own batch).
func maintenance(ctx context.Context, st *engine.Store, ws *engine.Workspace, g *gen, rep *Report, opts Options) error {
	rng := rand.New(rand.NewPCG(opts.Seed, 5))
	update := func(i int) (time.Duration, error) {
		target := g.ids[rng.IntN(len(g.ids))]
		t0 := time.Now()
		_, err := ws.Transact(ctx, "bench", func(_ *crdt.Txn, b *engine.Blocks) error {
			switch i % 3 {
			case 0:
				_, err := b.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("new-%d", i)), Flavour: "affine:paragraph",
					Parent: target, Creator: "user-001", Props: map[string]any{"text": engine.RichText{Text: "new"}}})
				return err
			case 1:
				return b.SetProp(target, "title", fmt.Sprint("title ", i))
			default:
				page := g.pages[rng.IntN(len(g.pages))]
				bv, ok := b.Get(target)
				if !ok || bv.Parent == "" {
					return nil
				}
				err := b.Move(target, page, -1)
				if errors.Is(err, engine.ErrCycle) {
					return nil
				}
				return err
			}
		})
		return time.Since(t0), err
	}
	// Whatever the generator left queued is applied first, outside the
	// measurement.
	if err := ws.View(ctx, func(v *engine.ReadView) error { v.Index(); return nil }); err != nil {
		return err
	}
	runtime.GC()
	if opts.Profile != "" {
		f, err := os.Create(opts.Profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	idx0 := st.Stats().IndexTime
	var applyTotal time.Duration
	applyEach := make([]float64, 0, opts.Updates)
	for i := 0; i < opts.Updates; i++ {
		d, err := update(i)
		if err != nil {
			return err
		}
		applyTotal += d
		applyEach = append(applyEach, float64(d.Nanoseconds())/1e3)
		if (i+1)%5000 == 0 {
			fmt.Fprintf(opts.Progress, "query: %d/%d updates\n", i+1, opts.Updates)
		}
	}
	// The queue left at the end is part of the cost: a reader applies it.
	t0 := time.Now()
	if err := ws.View(ctx, func(v *engine.ReadView) error { v.Index(); return nil }); err != nil {
		return err
	}
	applyTotal += time.Since(t0)
	idxTotal := st.Stats().IndexTime - idx0
	if opts.Profile != "" {
		pprof.StopCPUProfile()
	}
	rep.ApplyUS = float64(applyTotal.Nanoseconds()) / 1e3 / float64(opts.Updates)
	rep.ApplyP50US = pct(applyEach, 50)
	rep.IndexUS = float64(idxTotal.Nanoseconds()) / 1e3 / float64(opts.Updates)
	rep.IndexShare = rep.IndexUS / rep.ApplyUS

	one := max(opts.Updates/10, 100)
	var oneTotal time.Duration
	idx0 = st.Stats().IndexTime
	for i := 0; i < one; i++ {
		d, err := update(opts.Updates + i)
		if err != nil {
			return err
		}
		t0 := time.Now()
		if err := ws.View(ctx, func(v *engine.ReadView) error { v.Index(); return nil }); err != nil {
			return err
		}
		oneTotal += d + time.Since(t0)
	}
	rep.IndexOneUS = float64((st.Stats().IndexTime - idx0).Nanoseconds()) / 1e3 / float64(one)
	rep.ApplyOneUS = float64(oneTotal.Nanoseconds()) / 1e3 / float64(one)
	fmt.Fprintf(opts.Progress, "query: %d updates: apply %.1f µs, index %.1f µs (%.1f%%); read after each: index %.1f µs of %.1f µs\n",
		opts.Updates, rep.ApplyUS, rep.IndexUS, 100*rep.IndexShare, rep.IndexOneUS, rep.ApplyOneUS)
	return nil
}

func print(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "workspace: %d blocks, %d creators, trees of up to %d levels, %d links (built in %.0f s)\n\n",
		rep.Blocks, rep.Creators, rep.MaxDepth+1, rep.Links, rep.BuildSecs)
	fmt.Fprintf(w, "%-13s %9s %11s %11s %11s %11s %9s %11s\n", "query", "avg rows", "index p50", "index p99", "scan p50", "scan p99", "speedup", "view p50")
	for _, q := range rep.Queries {
		fmt.Fprintf(w, "%-13s %9.1f %8.3f ms %8.3f ms %8.1f ms %8.1f ms %8.0f× %8.3f ms\n",
			q.Name, q.Rows, q.IndexP50, q.IndexP99, q.ScanP50, q.ScanP99, q.Speedup, q.ViewP50)
	}
	fmt.Fprintf(w, "\nindex maintenance per update: %.1f µs, %.1f%% of the %.1f µs mean apply (median %.1f µs), the engine's live index over %d updates\n",
		rep.IndexUS, 100*rep.IndexShare, rep.ApplyUS, rep.ApplyP50US, rep.Updates)
	fmt.Fprintf(w, "  with an index read after every update: %.1f µs, %.1f%% of %.1f µs\n",
		rep.IndexOneUS, 100*rep.IndexOneUS/rep.ApplyOneUS, rep.ApplyOneUS)
	per := 1e6 / float64(rep.Blocks)
	fmt.Fprintf(w, "index memory: %.0f MB per million blocks (Stats estimate %.0f MB)\n",
		float64(rep.HeapBytes)*per/1e6, float64(rep.IndexBytes)*per/1e6)
	fmt.Fprintf(w, "index rebuild from the blocks: %.2f s; file %.1f MB, written in %.2f s, loaded in %.2f s\n",
		rep.RebuildSecs, float64(rep.FileBytes)/1e6, rep.WriteSecs, rep.LoadSecs)
}
