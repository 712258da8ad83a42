package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// editor makes random edits to a plain document (text, maps, arrays, nested
// types, deletions) and returns one update per transaction.
type editor struct {
	rng *rand.Rand
	doc *crdt.Doc
	ups [][]byte
}

func newEditor(seed uint64, client uint64) *editor {
	e := &editor{rng: rand.New(rand.NewPCG(seed, 7)), doc: crdt.MustNewDoc(crdt.Options{ClientID: client})}
	e.doc.OnUpdate(func(u []byte, _ *crdt.Txn) { e.ups = append(e.ups, append([]byte(nil), u...)) })
	return e
}

func (e *editor) step() []byte {
	e.ups = nil
	r := e.rng
	e.doc.Transact("ed", func(tx *crdt.Txn) {
		txt, _ := e.doc.GetText("text")
		m, _ := e.doc.GetMap("map")
		arr, _ := e.doc.GetArray("arr")
		switch r.IntN(6) {
		case 0, 1:
			txt.Insert(tx, r.IntN(txt.Len()+1), fmt.Sprintf("w%d ", r.IntN(100)), nil)
		case 2:
			if n := txt.Len(); n > 2 {
				i := r.IntN(n - 1)
				txt.Delete(tx, i, 1+r.IntN(min(3, n-i-1)))
			}
		case 3:
			m.Set(tx, fmt.Sprintf("k%d", r.IntN(10)), r.IntN(1000))
		case 4:
			if r.IntN(2) == 0 {
				arr.Insert(tx, r.IntN(arr.Len()+1), "x", 1.5, map[string]any{"a": "b"})
			} else if arr.Len() > 0 {
				arr.Delete(tx, r.IntN(arr.Len()), 1)
			}
		case 5:
			sub := crdt.NewMap()
			m.Set(tx, fmt.Sprintf("sub%d", r.IntN(3)), sub)
			sub.Set(tx, "v", "nested")
		}
	})
	if len(e.ups) == 0 {
		return e.step()
	}
	return e.ups[0]
}

// TestApplyRecoverRoundTrip applies a remote client's updates, closes and
// reopens the store (recovery from snapshots + tail) and checks the state
// vector and encoded state are unchanged and equal the client's.
func TestApplyRecoverRoundTrip(t *testing.T) {
	fs := vfs.NewMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = 25
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	ed := newEditor(1, 501)
	for i := range 120 {
		if lsn := apply(t, w, ed.step(), "peer"); lsn != oplog.LSN(i+1) {
			t.Fatalf("update %d logged at %d", i, lsn)
		}
	}
	want := ed.doc.EncodeStateAsUpdate(nil)
	if got := encodeState(t, w); !bytes.Equal(got, want) {
		t.Fatal("workspace state differs from the client's")
	}
	sv := stateVector(t, w)
	if _, err := w.Snapshot(bg); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		apply(t, w, ed.step(), "peer")
	}
	want = ed.doc.EncodeStateAsUpdate(nil)
	sv = crdt.EncodeStateVector(ed.doc.StateVector())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := openStore(t, opts)
	w2 := workspace(t, s2, "ws")
	if got := encodeState(t, w2); !bytes.Equal(got, want) {
		t.Fatal("state after reopen differs")
	}
	if got := stateVector(t, w2); !bytes.Equal(got, sv) {
		t.Fatal("state vector after reopen differs")
	}
	if lsn, _ := w2.LastLSN(bg); lsn != 127 {
		t.Fatalf("LastLSN %d after reopen", lsn)
	}
	l, _, _, _ := w2.openLog()
	if snaps, _ := l.Snapshots(); len(snaps) < 2 {
		t.Fatalf("snapshots %v: background snapshots did not run", snaps)
	}
}

func TestApplyMalformedDuplicateAndPending(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	ed := newEditor(2, 9)
	var ups [][]byte
	ed.doc.OnUpdate(func(u []byte, _ *crdt.Txn) { ups = append(ups, u) })
	txt, _ := ed.doc.GetText("t")
	for _, s := range []string{"a", "b", "c"} {
		txt.Insert(nil, txt.Len(), s, nil) // each insert depends on the previous one
	}
	u1, u2, u3 := ups[0], ups[1], ups[2]
	apply(t, w, u1, "a")

	// Malformed: the crdt error, nothing logged.
	bad := append([]byte(nil), u2...)
	bad = bad[:len(bad)/2]
	if _, err := w.Apply(bg, bad, "a"); !errors.Is(err, crdt.ErrMalformed) {
		t.Fatalf("malformed update: %v", err)
	}
	if n := len(logRecords(t, w)); n != 1 {
		t.Fatalf("%d records after malformed update", n)
	}
	// Duplicate: not logged, returns the current LSN.
	if lsn := apply(t, w, u1, "a"); lsn != 1 || len(logRecords(t, w)) != 1 {
		t.Fatalf("duplicate logged: lsn %d", lsn)
	}
	// Out of order: u3 is pending (logged), u2 completes it.
	if lsn := apply(t, w, u3, "a"); lsn != 2 {
		t.Fatalf("pending update at %d", lsn)
	}
	// A pending duplicate is logged again: Apply cannot prove it is one.
	apply(t, w, u3, "a")
	if lsn := apply(t, w, u2, "a"); lsn != 4 {
		t.Fatalf("completing update at %d", lsn)
	}
	if !bytes.Equal(encodeState(t, w), ed.doc.EncodeStateAsUpdate(nil)) {
		t.Fatal("state differs after pending updates")
	}
	// Limits are checked before anything changes.
	if _, err := w.Apply(bg, u1, string(make([]byte, 300))); !errors.Is(err, oplog.ErrOriginTooLong) {
		t.Fatalf("long origin: %v", err)
	}
}

func TestTransactRollback(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
	before := encodeState(t, w)
	boom := errors.New("boom")
	_, err := w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error {
		b.Create(NewBlock{ID: "b", Flavour: "f"})
		b.SetProp("a", "x", 1)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact: %v", err)
	}
	if _, ok, _ := w.Get(bg, "b"); ok {
		t.Fatal("rolled-back block visible")
	}
	if got := encodeState(t, w); !bytes.Equal(got, before) {
		t.Fatal("rolled-back change still in the document")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error {
			b.Create(NewBlock{ID: "c", Flavour: "f"})
			panic("oops")
		})
	}()
	if got := encodeState(t, w); !bytes.Equal(got, before) {
		t.Fatal("change of a panicking transaction kept")
	}
	// The workspace keeps working, with the same client id.
	if lsn := transact(t, w, func(b *Blocks) error { return b.SetProp("a", "y", 2) }); lsn != 2 {
		t.Fatalf("LSN %d after rollbacks", lsn)
	}
	if id, _ := w.ClientID(bg); id != 1001 {
		t.Fatalf("client id %d", id)
	}
	checkViews(t, w, "after rollback")
}

// TestFailedAppendBreaksWorkspace injects a write error into the op-log: the
// update was integrated but not logged, so the workspace must reopen from
// disk and never serve it.
func TestFailedAppendBreaksWorkspace(t *testing.T) {
	for _, kind := range []vfs.OpKind{vfs.OpWrite, vfs.OpSync} {
		t.Run(kind.String(), func(t *testing.T) {
			base := vfs.NewCrashableMem()
			efs := vfs.NewErrorFS(base, nil)
			s := openStore(t, testOptions(efs))
			w := workspace(t, s, "ws")
			transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })
			sub, err := w.Subscribe(bg, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			acked := encodeState(t, w)

			efs.SetInjector(vfs.FailNth(1, kind))
			_, err = w.Transact(bg, "local", func(_ *crdt.Txn, b *Blocks) error {
				_, err := b.Create(NewBlock{ID: "lost", Flavour: "f"})
				return err
			})
			if !errors.Is(err, vfs.ErrInjected) {
				t.Fatalf("Transact with failing %s: %v", kind, err)
			}
			efs.SetInjector(nil)
			if lsn, _ := w.LastLSN(bg); lsn != 1 && kind == vfs.OpWrite {
				t.Fatalf("LastLSN %d after failed append", lsn)
			}
			_, ok, err := w.Get(bg, "lost")
			if err != nil {
				t.Fatal(err)
			}
			got := encodeState(t, w)
			switch kind {
			case vfs.OpWrite:
				// Nothing reached the file: reopened without it.
				if ok || !bytes.Equal(got, acked) {
					t.Fatalf("unacknowledged block served after a failed write (visible=%v)", ok)
				}
			case vfs.OpSync:
				// The write reached the file but its fsync failed: the
				// reopened log may hold it; then it is served consistently
				// (document, views and subscribers agree).
				if ok == bytes.Equal(got, acked) {
					t.Fatalf("views (visible=%v) and document disagree", ok)
				}
				t.Logf("record whose fsync failed recovered: %v", ok)
				if ok {
					if ch := <-sub.C; ch.LSN != 2 || len(ch.Blocks) != 1 || ch.Blocks[0].ID != "lost" {
						t.Fatalf("change of the recovered record: %+v", ch)
					}
				}
			}
			// The workspace works again.
			lsn := transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "next", Flavour: "f"}); return err })
			if ch := <-sub.C; ch.LSN != lsn || ch.Blocks[0].ID != "next" {
				t.Fatalf("change after recovery: %+v (lsn %d)", ch, lsn)
			}
			checkViews(t, w, "after failed append")
		})
	}
}

// TestSnapshotOnClose: a clean close snapshots the records logged since the
// last snapshot, so the next open replays no tail.
func TestSnapshotOnClose(t *testing.T) {
	fs := vfs.NewMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = -1 // no background snapshots
	opts.SnapshotBytes = -1
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	ed := newEditor(1, 77)
	for range 5 {
		apply(t, w, ed.step(), "peer")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, opts)
	w2 := workspace(t, s2, "ws")
	l, _, _, err := w2.openLog()
	if err != nil {
		t.Fatal(err)
	}
	snap, err := l.LatestSnapshot()
	if err != nil {
		t.Fatalf("no snapshot after a clean close: %v", err)
	}
	if snap.LSN != 5 {
		t.Fatalf("snapshot at LSN %d, want 5", snap.LSN)
	}
	if got := encodeState(t, w2); !bytes.Equal(got, ed.doc.EncodeStateAsUpdate(nil)) {
		t.Fatal("state after reopen differs")
	}
}

// TestApplyComplete: an update whose dependencies the workspace lacks is
// refused before anything changes; once they arrive it applies.
func TestApplyComplete(t *testing.T) {
	s := openStore(t, testOptions(nil))
	w := workspace(t, s, "ws")
	p := newPeer(7)
	u1 := p.edit(t, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })[0]
	u2 := p.edit(t, func(b *Blocks) error { return b.SetProp("a", "x", 1) })[0]
	u3 := p.edit(t, func(b *Blocks) error { return b.Delete("a", false) })[0]
	before, lsn := encodeState(t, w), mustLSN(t, w)
	for name, u := range map[string][]byte{"depends on an earlier update": u2, "deletes what is missing": u3} {
		if _, err := w.ApplyComplete(bg, u, "client"); !errors.Is(err, ErrMissingDeps) {
			t.Fatalf("%s: %v, want ErrMissingDeps", name, err)
		}
		if string(encodeState(t, w)) != string(before) || mustLSN(t, w) != lsn {
			t.Fatalf("%s: the refused update changed the workspace", name)
		}
	}
	for _, u := range [][]byte{u1, u2, u3} {
		if _, err := w.ApplyComplete(bg, u, "client"); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := w.Get(bg, "a"); ok {
		t.Fatal("the block should be deleted")
	}
	if _, err := w.ApplyComplete(bg, []byte{9, 9, 9}, "client"); err == nil || errors.Is(err, ErrMissingDeps) {
		t.Fatalf("malformed update: %v", err)
	}

	// ApplyCompleteAsync refuses the same way, before anything changes,
	// and otherwise returns a wait for the record's LSN.
	w2 := workspace(t, s, "ws2")
	if _, err := w2.ApplyCompleteAsync(bg, u2, "client"); !errors.Is(err, ErrMissingDeps) {
		t.Fatalf("async, incomplete: %v, want ErrMissingDeps", err)
	}
	if lsn := mustLSN(t, w2); lsn != 0 {
		t.Fatalf("the refused update was logged: LSN %d", lsn)
	}
	var waits []func() (oplog.LSN, error)
	for _, u := range [][]byte{u1, u2, u3} {
		wait, err := w2.ApplyCompleteAsync(bg, u, "client")
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, wait)
	}
	for i, wait := range waits {
		if lsn, err := wait(); err != nil || lsn != oplog.LSN(i+1) {
			t.Fatalf("wait %d = %d, %v", i, lsn, err)
		}
	}
	if string(encodeState(t, w2)) != string(encodeState(t, w)) {
		t.Fatal("async and sync applies of the same updates differ")
	}
}

func mustLSN(t *testing.T, w *Workspace) oplog.LSN {
	t.Helper()
	lsn, err := w.LastLSN(bg)
	if err != nil {
		t.Fatal(err)
	}
	return lsn
}
