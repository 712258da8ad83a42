package engine

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"octobase/engine/crdt"
	"octobase/index"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// indexDump describes what an index says about the live blocks, by block
// id, so that two indexes over the same blocks compare equal whatever row
// ids they allocated: live blocks, flavour and creator postings, roots,
// children, links and backlinks of every row, and the created and updated
// hour buckets of the given times (the blocks' own).
func indexDump(s *index.Snapshot, times []int64) string {
	var b strings.Builder
	ids := func(bm *roaring.Bitmap) []string {
		var out []string
		bm.Iterate(func(r uint32) bool {
			id, _ := s.ID(index.RowID(r))
			out = append(out, id)
			return true
		})
		slices.Sort(out)
		return out
	}
	fmt.Fprintf(&b, "live %q\nroots %q\n", ids(s.Live()), ids(s.ChildrenOf("")))
	for _, f := range s.Flavours() {
		fmt.Fprintf(&b, "flavour %q: %q\n", f, ids(s.ByFlavour(f)))
	}
	for _, c := range s.Creators() {
		fmt.Fprintf(&b, "creator %q: %q\n", c, ids(s.ByCreator(c)))
	}
	var rows []string
	for r := range s.Rows() {
		id, _ := s.ID(index.RowID(r))
		rows = append(rows, id)
	}
	slices.Sort(rows)
	for _, id := range rows {
		if c := s.ChildrenOf(id); !c.IsEmpty() {
			fmt.Fprintf(&b, "children %q: %q\n", id, ids(c))
		}
		if c := s.LinkingTo(id); !c.IsEmpty() {
			fmt.Fprintf(&b, "backlinks %q: %q\n", id, ids(c))
		}
		var links []string
		for _, r := range s.Links(id) {
			l, _ := s.ID(r)
			links = append(links, l)
		}
		if len(links) > 0 {
			slices.Sort(links)
			fmt.Fprintf(&b, "links %q: %q\n", id, links)
		}
	}
	hours := map[int64]bool{}
	for _, t := range times {
		hours[t-t%3_600_000] = true
	}
	for _, h := range slices.Sorted(maps.Keys(hours)) {
		ce, cc := s.CreatedRange(h, h+3_599_999)
		ue, uc := s.UpdatedRange(h, h+3_599_999)
		fmt.Fprintf(&b, "hour %d: created %q %q, updated %q %q\n", h, ids(ce), ids(cc), ids(ue), ids(uc))
	}
	return b.String()
}

// viewTimes returns the created and updated times of the view's blocks.
func viewTimes(v *ReadView) []int64 {
	var out []int64
	for _, id := range v.IDs() {
		b, _ := v.Get(id)
		out = append(out, b.Created, b.Updated)
	}
	return out
}

// checkIndex compares the index the views maintain with a from-scratch
// build over the same views, in every space, and checks its position.
func checkIndex(t testing.TB, w *Workspace, context string) string {
	t.Helper()
	var dump string
	err := w.View(bg, func(v *ReadView) error {
		for _, space := range append(v.Spaces(), DefaultSpace) {
			sv := v.Space(space)
			got := sv.Index()
			if got == nil {
				return fmt.Errorf("space %q has no index", space)
			}
			if err := got.Verify(); err != nil {
				return err
			}
			if got.Position() != uint64(v.LSN()) {
				return fmt.Errorf("space %q: index at %d, views at %d", space, got.Position(), v.LSN())
			}
			var want *index.Snapshot
			if raw := sv.sv(); raw != nil {
				ix, err := buildIndex(raw, v.v.updated, v.LSN())
				if err != nil {
					return err
				}
				want = ix.Snapshot()
			} else {
				want = emptyIndex(v.LSN())
			}
			times := viewTimes(sv)
			g, w := indexDump(got, times), indexDump(want, times)
			if g != w {
				return fmt.Errorf("space %q: maintained index differs from a rebuild:\n got %s\nwant %s", space, g, w)
			}
			if space == DefaultSpace {
				dump = g
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", context, err)
	}
	return dump
}

// TestIndexModel runs random local and remote edits, reopens and crashes
// (keeping only what was fsynced), checking after every step that the
// index the engine maintains equals a rebuild from the views, and at the
// end that ReadAt of every position carries the index the views had then
// (time travel). The seed is printed on failure; rerun with -model.seed.
func TestIndexModel(t *testing.T) {
	for seed := range int64(*modelSeeds) {
		if *modelSeed >= 0 && seed != *modelSeed {
			continue
		}
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { indexRound(t, uint64(seed)) })
	}
}

func indexRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 4321))
	fs := vfs.NewCrashableMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = 5 + rng.IntN(20)
	s, err := Open("/store", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	w := workspace(t, s, "ws")
	p := newPeer(7000 + seed)
	history := map[oplog.LSN]string{}
	for step := range *modelSteps {
		what := ""
		switch k := rng.IntN(12); {
		case k < 6:
			what = "local"
			if _, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { return randomOp(rng, b) }); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		case k < 10:
			what = "remote"
			if rng.IntN(3) == 0 {
				p.sync(t, w)
			}
			for _, u := range p.edit(t, func(b *Blocks) error { return randomOp(rng, b) }) {
				if _, err := w.Apply(bg, u, "peer"); err != nil {
					t.Fatalf("seed %d step %d: Apply: %v", seed, step, err)
				}
			}
		case k == 10:
			what = "reopen"
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s, err = Open("/store", opts)
			if err != nil {
				t.Fatal(err)
			}
			w = workspace(t, s, "ws")
		default:
			what = "crash"
			crashed := fs.CrashClone(vfs.CrashOptions{})
			s.Close()
			fs = crashed
			opts.FS = fs
			s, err = Open("/store", opts)
			if err != nil {
				t.Fatal(err)
			}
			w = workspace(t, s, "ws")
		}
		lsn, _ := w.LastLSN(bg)
		history[lsn] = checkIndex(t, w, fmt.Sprintf("seed %d step %d (%s)", seed, step, what))
	}
	for lsn, want := range history {
		v, err := w.ReadAt(bg, lsn)
		if err != nil {
			t.Fatalf("seed %d: ReadAt(%d): %v", seed, lsn, err)
		}
		ix := v.Index()
		if ix == nil || ix.Position() != uint64(lsn) {
			t.Fatalf("seed %d: ReadAt(%d) index %v", seed, lsn, ix)
		}
		if got := indexDump(ix, viewTimes(v)); got != want {
			t.Fatalf("seed %d: ReadAt(%d) index differs from the one the views had:\n got %s\nwant %s", seed, lsn, got, want)
		}
	}
}

// persistIndex does what the snapshot writer is to do (the hook described
// in engine/index.go): take the indexes at the snapshot's LSN under the
// workspace lock, write them after the op-log snapshot.
func persistIndex(t *testing.T, w *Workspace, snapLSN oplog.LSN) {
	t.Helper()
	w.mu.Lock()
	st, err := w.ensureLocked()
	if err != nil {
		t.Fatal(err)
	}
	snaps := st.indexesAt(snapLSN)
	w.mu.Unlock()
	if snaps == nil {
		t.Fatalf("views are not at the snapshot's LSN %d", snapLSN)
	}
	w.persistIndexes(snapLSN, snaps)
	if _, err := w.s.opts.FS.Open(indexPath(w.dir, DefaultSpace)); err != nil {
		t.Fatal(err)
	}
}

func liveIndex(t *testing.T, w *Workspace) (s *index.Snapshot, times []int64) {
	t.Helper()
	if err := w.View(bg, func(v *ReadView) error {
		s, times = v.Index(), viewTimes(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s, times
}

// TestIndexPersisted: an index written beside a snapshot is loaded by
// recovery (not rebuilt: it keeps the row of a block deleted before the
// snapshot, which a rebuild cannot know) and the log tail is replayed into it, giving
// exactly (index.Snapshot.Compare: same rows, same bitmaps) the index the
// workspace had before the crash. A stale or damaged file is ignored and
// the index rebuilt.
func TestIndexPersisted(t *testing.T) {
	fs := vfs.NewCrashableMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = -1
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	rng := rand.New(rand.NewPCG(1, 2))
	for range 40 {
		transact(t, w, func(b *Blocks) error { return randomOp(rng, b) })
	}
	var gone BlockID // deleted before the snapshot: only a loaded index has its row
	transact(t, w, func(b *Blocks) error {
		var err error
		gone, err = b.Create(NewBlock{Flavour: "gone", Creator: "u"})
		return err
	})
	transact(t, w, func(b *Blocks) error { return b.Delete(gone, false) })
	snapLSN, err := w.Snapshot(bg)
	if err != nil {
		t.Fatal(err)
	}
	persistIndex(t, w, snapLSN)
	for range 30 {
		transact(t, w, func(b *Blocks) error { return randomOp(rng, b) })
	}
	before, times := liveIndex(t, w)

	reopen := func(fs vfs.FS) *Workspace {
		opts := testOptions(fs)
		opts.SnapshotRecords = -1
		s2 := openStore(t, opts)
		return workspace(t, s2, "ws")
	}
	crashed := fs.CrashClone(vfs.CrashOptions{})
	w2 := reopen(crashed)
	after, _ := liveIndex(t, w2)
	if err := after.Compare(before); err != nil {
		t.Fatalf("index after crash and tail replay: %v", err)
	}
	if _, ok := after.Row(string(gone)); !ok {
		t.Fatal("the recovered index has no row for a block deleted before the snapshot: it was rebuilt, not loaded")
	}
	checkIndex(t, w2, "after crash")

	// Damage the file: recovery rebuilds (no deleted rows), same content.
	crashed2 := crashed.CrashClone(vfs.CrashOptions{})
	path := indexPath("/store/ws", DefaultSpace)
	f, err := crashed2.OpenAppend(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(100); err != nil {
		t.Fatal(err)
	}
	f.Sync()
	f.Close()
	w3 := reopen(crashed2)
	rebuilt, _ := liveIndex(t, w3)
	if _, ok := rebuilt.Row(string(gone)); ok {
		t.Fatal("a damaged index file was used")
	}
	if g, w := indexDump(rebuilt, times), indexDump(before, times); g != w {
		t.Fatalf("rebuilt index differs:\n got %s\nwant %s", g, w)
	}

	// A newer snapshot whose index file was not written (a crash between
	// the two) leaves the older file stale: rebuilt, same content.
	crashed3 := crashed.CrashClone(vfs.CrashOptions{})
	old := readFS(t, crashed3, path)
	w4 := reopen(crashed3)
	if _, err := w4.Snapshot(bg); err != nil {
		t.Fatal(err)
	}
	if string(readFS(t, crashed3, path)) == string(old) {
		t.Fatal("Snapshot did not write the index beside it")
	}
	writeFS(t, crashed3, path, old)
	w5 := reopen(crashed3.CrashClone(vfs.CrashOptions{}))
	stale, _ := liveIndex(t, w5)
	if _, ok := stale.Row(string(gone)); ok {
		t.Fatal("a stale index file was used")
	}
	if g, w := indexDump(stale, times), indexDump(before, times); g != w {
		t.Fatalf("rebuilt index differs:\n got %s\nwant %s", g, w)
	}
}

// BenchmarkIndexMaintenance measures what maintaining the index adds to
// an applied update: the same edits (a new paragraph, a title change)
// applied through Transact (SyncNone: no fsync, so the share is the
// largest it can be) on a workspace of 10k blocks with the index off, on,
// and on with the index read after every update (a query per write: every
// record is its own batch). index-ns/update is the time spent queueing and
// applying index changes, timed inside the engine; index-% is its share of
// the update's time.
func BenchmarkIndexMaintenance(b *testing.B) {
	for _, mode := range []string{"off", "on", "read-every-update"} {
		on := mode != "off"
		b.Run("index="+mode, func(b *testing.B) {
			opts := testOptions(nil)
			opts.Durability = oplog.SyncNone
			opts.SnapshotRecords, opts.SnapshotBytes = -1, -1
			s := openStore(b, opts)
			w := workspace(b, s, "bench")
			var pages []BlockID
			for i := 0; i < 100; i++ {
				transact(b, w, func(bl *Blocks) error {
					page, err := bl.Create(NewBlock{Flavour: "affine:page", Creator: fmt.Sprint("u", i%10)})
					if err != nil {
						return err
					}
					pages = append(pages, page)
					for j := 0; j < 99; j++ {
						if _, err := bl.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, Creator: fmt.Sprint("u", j%10),
							Props: map[string]any{"text": RichText{Text: "some words"}}}); err != nil {
							return err
						}
					}
					return nil
				})
			}
			st := w.live.Load()
			st.views.mu.Lock()
			st.views.skipIndex = !on
			st.views.mu.Unlock()
			idx0 := s.Stats().IndexTime
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				page := pages[i%len(pages)]
				transact(b, w, func(bl *Blocks) error {
					if i%2 == 0 {
						_, err := bl.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, Creator: "u1",
							Props: map[string]any{"ref": map[string]any{"$ref": string(pages[0])}}})
						return err
					}
					return bl.SetProp(page, "title", fmt.Sprint("title ", i))
				})
				if mode == "read-every-update" {
					w.View(bg, func(v *ReadView) error { v.Index(); return nil })
				}
			}
			if on {
				perUpdate := float64(s.Stats().IndexTime-idx0) / float64(b.N)
				b.ReportMetric(perUpdate, "index-ns/update")
				b.ReportMetric(100*perUpdate/(float64(b.Elapsed().Nanoseconds())/float64(b.N)), "index-%")
			}
		})
	}
}

var upkeepPages = flag.Int("index.pages", 1000, "pages of 100 blocks in BenchmarkIndexUpkeepHourly")

// BenchmarkIndexUpkeepHourly is BenchmarkIndexMaintenance on a workspace
// built the way octobase bench query builds its own: one transaction of
// pages an hour (-index.pages pages of 100 blocks, 100,000 blocks by
// default), so each edit of a block moves it out of its creation hour into
// the current one — the move that dominates upkeep on large workspaces.
// Each update edits a random block: a new paragraph under it, or a title.
// index-ns/update is the time spent in the engine's index code, including
// the settling of deferred moves (index/pending.go) as it comes.
//
//	go test ./engine -run '^$' -bench IndexUpkeepHourly -benchtime 20000x
func BenchmarkIndexUpkeepHourly(b *testing.B) {
	opts := testOptions(nil)
	opts.Durability = oplog.SyncNone
	opts.SnapshotRecords, opts.SnapshotBytes = -1, -1
	var now atomic.Int64
	now.Store(1_735_689_600_000)
	opts.Clock = func() time.Time { return time.UnixMilli(now.Load()) }
	s := openStore(b, opts)
	w := workspace(b, s, "bench")
	var ids []BlockID
	const perTxn = 2000
	for len(ids) < *upkeepPages*100 {
		now.Add(3_600_000)
		transact(b, w, func(bl *Blocks) error {
			for k := 0; k < perTxn/100 && len(ids) < *upkeepPages*100; k++ {
				page, err := bl.Create(NewBlock{Flavour: "affine:page", Creator: "u0"})
				if err != nil {
					return err
				}
				ids = append(ids, page)
				for j := 0; j < 99; j++ {
					id, err := bl.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, Creator: fmt.Sprint("u", j%10),
						Props: map[string]any{"text": RichText{Text: "some words"}}})
					if err != nil {
						return err
					}
					ids = append(ids, id)
				}
			}
			return nil
		})
	}
	now.Add(3_600_000)
	w.View(bg, func(v *ReadView) error { v.Index(); return nil })
	idx0 := s.Stats().IndexTime
	rng := rand.New(rand.NewPCG(7, 7))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		target := ids[rng.IntN(len(ids))]
		transact(b, w, func(bl *Blocks) error {
			if i%2 == 0 {
				_, err := bl.Create(NewBlock{Flavour: "affine:paragraph", Parent: target, Creator: "u1"})
				return err
			}
			return bl.SetProp(target, "title", fmt.Sprint("title ", i))
		})
	}
	perUpdate := float64(s.Stats().IndexTime-idx0) / float64(b.N)
	b.ReportMetric(perUpdate, "index-ns/update")
	b.ReportMetric(100*perUpdate/(float64(b.Elapsed().Nanoseconds())/float64(b.N)), "index-%")
}

// TestIndexClone: a copy of the live views (what ReadAt of the last
// position makes) builds an index equal to the live one on first use, or,
// with shareIndex, shares the live snapshot itself.
func TestIndexClone(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	rng := rand.New(rand.NewPCG(3, 4))
	for range 30 {
		transact(t, w, func(b *Blocks) error { return randomOp(rng, b) })
	}
	live, times := liveIndex(t, w)
	st := w.live.Load()
	st.views.mu.RLock()
	c1, c2 := st.views.clone(), st.views.clone()
	for id, sv := range st.views.spaces {
		st.views.shareIndex(sv, c2.spaces[id])
	}
	st.views.mu.RUnlock()
	built := (&ReadView{v: c1, space: DefaultSpace}).Index()
	if g, w := indexDump(built, times), indexDump(live, times); g != w {
		t.Fatalf("index built for a copy differs:\n%s\n%s", g, w)
	}
	if shared := (&ReadView{v: c2, space: DefaultSpace}).Index(); shared != live {
		t.Fatal("shareIndex did not share the live snapshot")
	}
}

func readFS(t *testing.T, fs vfs.FS, path string) []byte {
	t.Helper()
	f, err := fs.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return b
}

func writeFS(t *testing.T, fs vfs.FS, path string, b []byte) {
	t.Helper()
	f, err := fs.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
