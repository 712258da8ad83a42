package engine

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

var bg = context.Background()

// fakeClock advances by one millisecond per reading, from a fixed epoch.
type fakeClock struct{ n atomic.Int64 }

func (c *fakeClock) Now() time.Time {
	return time.UnixMilli(1_735_787_045_000 + c.n.Add(1))
}

// seqIDs returns a NewBlockID that yields b1, b2, ...
func seqIDs() func() BlockID {
	var n atomic.Int64
	return func() BlockID { return BlockID(fmt.Sprintf("b%d", n.Add(1))) }
}

// testOptions returns deterministic options on fs (a fresh MemFS if nil).
func testOptions(fs vfs.FS) *Options {
	if fs == nil {
		fs = vfs.NewMem()
	}
	clk := &fakeClock{}
	var ids atomic.Uint64
	return &Options{
		FS:          fs,
		Clock:       clk.Now,
		NewBlockID:  seqIDs(),
		ClientID:    func(string) (uint64, error) { return 1000 + ids.Add(1), nil },
		IdleTimeout: -1,
	}
}

func openStore(t testing.TB, opts *Options) *Store {
	t.Helper()
	s, err := Open("/store", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func workspace(t testing.TB, s *Store, name string) *Workspace {
	t.Helper()
	w, err := s.Workspace(bg, name)
	if err != nil {
		t.Fatalf("Workspace(%q): %v", name, err)
	}
	return w
}

// transact runs Transact and fails the test on error.
func transact(t testing.TB, w *Workspace, fn func(b *Blocks) error) oplog.LSN {
	t.Helper()
	lsn, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error { return fn(b) })
	if err != nil {
		t.Fatalf("Transact: %v", err)
	}
	return lsn
}

// createBlocks creates blocks b0 … b(n-1) like nb, one transaction each.
func createBlocks(t testing.TB, w *Workspace, n int, nb NewBlock) {
	t.Helper()
	for i := range n {
		transact(t, w, func(b *Blocks) error {
			nb := nb
			nb.ID = BlockID(fmt.Sprint("b", i))
			_, err := b.Create(nb)
			return err
		})
	}
}

func apply(t testing.TB, w *Workspace, u []byte, origin string) oplog.LSN {
	t.Helper()
	lsn, err := w.Apply(bg, u, origin)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return lsn
}

func get(t testing.TB, w *Workspace, id BlockID) BlockView {
	t.Helper()
	b, ok, err := w.Get(bg, id)
	if err != nil || !ok {
		t.Fatalf("Get(%q): ok=%v err=%v", id, ok, err)
	}
	return b
}

func encodeState(t testing.TB, w *Workspace) []byte {
	t.Helper()
	u, err := w.EncodeStateAsUpdate(bg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func stateVector(t testing.TB, w *Workspace) []byte {
	t.Helper()
	sv, err := w.StateVector(bg)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// viewsSummary is a comparable rendering of views: blocks per non-empty
// space, backlinks, updated times, meta.
type viewsSummary struct {
	LSN       oplog.LSN
	Blocks    map[string]map[BlockID]block
	Backlinks map[string]map[BlockID][]BlockID
	Updated   map[BlockID]int64
	Meta      map[string]any
}

func summarize(v *views) viewsSummary {
	s := viewsSummary{LSN: v.lsn, Blocks: map[string]map[BlockID]block{},
		Backlinks: map[string]map[BlockID][]BlockID{}, Updated: maps.Clone(v.updated), Meta: maps.Clone(v.meta)}
	for id, sv := range v.spaces {
		if len(sv.blocks) > 0 {
			bs := map[BlockID]block{}
			for bid, b := range sv.blocks {
				bs[bid] = *b
			}
			s.Blocks[id] = bs
		}
		if len(sv.backlinks) > 0 {
			bl := map[BlockID][]BlockID{}
			for t, src := range sv.backlinks {
				l := slices.Collect(maps.Keys(src))
				slices.Sort(l)
				bl[t] = l
			}
			s.Backlinks[id] = bl
		}
	}
	return s
}

// checkViews compares the workspace's incremental views with a
// from-scratch build over its document.
func checkViews(t testing.TB, w *Workspace, context string) {
	t.Helper()
	w.mu.Lock()
	st, err := w.ensureLocked()
	if err == nil && !w.drainLocked(st) {
		err = st.broken
	}
	if err != nil {
		w.mu.Unlock()
		t.Fatal(err)
	}
	st.views.mu.RLock()
	got := summarize(st.views)
	st.views.mu.RUnlock()
	want := summarize(buildViews(st.tr, st.lsn))
	w.mu.Unlock()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: incremental views differ from a rebuild:\n got %s\nwant %s", context, dump(got), dump(want))
	}
}

func dump(s viewsSummary) string {
	out := fmt.Sprintf("lsn=%d updated=%v meta=%v backlinks=%v\n", s.LSN, s.Updated, s.Meta, s.Backlinks)
	for sp, bs := range s.Blocks {
		ids := slices.Collect(maps.Keys(bs))
		slices.Sort(ids)
		for _, id := range ids {
			out += fmt.Sprintf("  %s/%s: %+v\n", sp, id, bs[id])
		}
	}
	return out
}

// logRecords returns every record of the workspace's log.
func logRecords(t testing.TB, w *Workspace) []oplog.Record {
	t.Helper()
	l, _, _, err := w.openLog()
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.NewReader(0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []oplog.Record
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		out = append(out, rec)
	}
	return out
}

// peer is a plain CRDT document editing the same workspace, standing in
// for a remote client: it edits through its own Blocks and hands over its
// updates.
type peer struct {
	doc     *crdt.Doc
	tr      *tracker
	updates [][]byte
	clock   int64
}

func newPeer(client uint64) *peer {
	p := &peer{doc: crdt.MustNewDoc(crdt.Options{ClientID: client}), clock: 1_800_000_000_000}
	p.tr = newTracker(p.doc)
	p.doc.OnUpdate(func(u []byte, _ *crdt.Txn) { p.updates = append(p.updates, append([]byte(nil), u...)) })
	return p
}

// edit runs fn in a transaction of the peer and returns the updates it
// produced.
func (p *peer) edit(t testing.TB, fn func(b *Blocks) error) [][]byte {
	t.Helper()
	p.updates = nil
	p.clock++
	var err error
	p.doc.Transact("peer", func(tx *crdt.Txn) {
		var b *Blocks
		if b, err = newBlocks(tx, p.tr, DefaultSpace, p.clock, randomBlockID); err == nil {
			err = fn(b)
		}
	})
	p.tr.take()
	if err != nil {
		t.Fatalf("peer edit: %v", err)
	}
	return p.updates
}

// sync brings the peer up to date with w.
func (p *peer) sync(t testing.TB, w *Workspace) {
	t.Helper()
	u, err := w.EncodeStateAsUpdate(bg, crdt.EncodeStateVector(p.doc.StateVector()))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.doc.ApplyUpdate(u, "sync"); err != nil {
		t.Fatal(err)
	}
	p.tr.checkRoots()
	p.tr.take()
}
