package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// slowSync makes every fsync take d, so records queue up in flight behind
// it and writers share fsyncs.
func slowSync(d time.Duration) vfs.Injector {
	return vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpSync {
			time.Sleep(d)
		}
		return nil
	})
}

// TestGroupCommit runs writers that edit the same few blocks (different
// fields, moves, creates and deletes) while fsyncs are slow, so each delta
// is computed against blocks still in flight. It checks what group commit
// must keep: fewer fsyncs than records; each writer reads its own write
// once its call returns; the subscriber sees every LSN once, in order; the
// views equal a rebuild; a remote Apply and a duplicate behave; and a
// reopen replays the same state.
func TestGroupCommit(t *testing.T) {
	fs := vfs.NewErrorFS(vfs.NewMem(), slowSync(2*time.Millisecond))
	opts := testOptions(fs)
	opts.Durability = oplog.SyncAlways
	opts.SnapshotRecords = 25
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error {
		for i := range 4 {
			if _, err := b.Create(NewBlock{ID: BlockID(fmt.Sprint("shared", i)), Flavour: "f"}); err != nil {
				return err
			}
		}
		return nil
	})
	sub, err := w.Subscribe(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	const writers, each = 12, 25
	var got []oplog.LSN
	var subWG sync.WaitGroup
	subWG.Go(func() {
		for ch := range sub.C {
			got = append(got, ch.LSN)
			if len(got) == writers*each {
				return
			}
		}
	})
	var wg sync.WaitGroup
	var failed atomic.Bool
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				shared := BlockID(fmt.Sprint("shared", (g+i)%4))
				mine := BlockID(fmt.Sprintf("w%d-%d", g, i))
				lsn, err := w.Transact(bg, "w", func(_ *crdt.Txn, b *Blocks) error {
					if err := b.SetProp(shared, fmt.Sprint("f", g), i); err != nil {
						return err
					}
					if _, err := b.Create(NewBlock{ID: mine, Flavour: "f", Parent: shared}); err != nil {
						return err
					}
					if i > 0 && i%3 == 0 {
						return b.Delete(BlockID(fmt.Sprintf("w%d-%d", g, i-1)), false)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					failed.Store(true)
					return
				}
				// Read your writes: the call returned, so its change is in
				// the views.
				var v any
				var vlsn oplog.LSN
				var ok bool
				w.View(bg, func(rv *ReadView) error {
					vlsn = rv.LSN()
					if b, found := rv.Get(shared); found {
						v, ok = b.Props[fmt.Sprint("f", g)], rv.Has(mine)
					}
					return nil
				})
				if vlsn < lsn || v != float64(i) || !ok {
					t.Errorf("writer %d step %d: after Transact returned %d the view is at %d with %v, %v", g, i, lsn, vlsn, v, ok)
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() {
		t.FailNow()
	}
	subWG.Wait()
	for i, lsn := range got {
		if lsn != oplog.LSN(i+2) {
			t.Fatalf("subscriber got LSN %d at position %d", lsn, i)
		}
	}
	st := w.live.Load()
	if stats := st.log.Stats(); stats.Syncs >= stats.Records {
		t.Fatalf("%d fsyncs for %d records: no group commit", stats.Syncs, stats.Records)
	} else {
		t.Logf("%d records, %d fsyncs", stats.Records, stats.Syncs)
	}
	checkViews(t, w, "after concurrent writers")

	// A remote update, then the same again (a duplicate returns the last LSN).
	p := newPeer(99)
	p.sync(t, w)
	u := p.edit(t, func(b *Blocks) error { return b.SetProp("shared0", "remote", true) })[0]
	l1 := apply(t, w, u, "peer")
	if l2 := apply(t, w, u, "peer"); l2 != l1 {
		t.Fatalf("duplicate returned %d, want %d", l2, l1)
	}
	want := encodeState(t, w)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, opts)
	w = workspace(t, s, "ws")
	if string(encodeState(t, w)) != string(want) {
		t.Fatal("reopened state differs")
	}
	checkViews(t, w, "after reopen")
}

// TestGroupCommitFsyncFailure fails one fsync while many writers have
// records in flight: each writer either gets its LSN (and then the record
// survives a reopen) or an error; the workspace reopens from disk and
// equals a replay of its log.
func TestGroupCommitFsyncFailure(t *testing.T) {
	mem := vfs.NewMem()
	fs := vfs.NewErrorFS(mem, slowSync(time.Millisecond))
	opts := testOptions(fs)
	opts.Durability = oplog.SyncAlways
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	transact(t, w, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "x", Flavour: "f"}); return err })
	var syncs atomic.Int64
	fs.SetInjector(vfs.InjectorFunc(func(op *vfs.Op) error {
		if op.Kind == vfs.OpSync {
			time.Sleep(time.Millisecond)
			if syncs.Add(1) == 5 {
				return vfs.ErrInjected
			}
		}
		return nil
	}))
	var mu sync.Mutex
	acked := map[string]oplog.LSN{}
	var errs atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				key := fmt.Sprintf("k%d-%d", g, i)
				lsn, err := w.Transact(bg, "w", func(_ *crdt.Txn, b *Blocks) error { return b.SetProp("x", key, i) })
				if err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				acked[key] = lsn
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if errs.Load() == 0 {
		t.Fatal("the failed fsync reached no writer")
	}
	fs.SetInjector(nil)
	// Whatever was acknowledged is there, in the workspace (reopened from
	// disk after the failure) and after a restart.
	for round := range 2 {
		b := get(t, w, "x")
		for key, lsn := range acked {
			if _, ok := b.Props[key]; !ok {
				t.Fatalf("round %d: acknowledged write %s (LSN %d) lost", round, key, lsn)
			}
		}
		checkViews(t, w, "after a failed fsync")
		if err := s.Close(); err != nil && !errors.Is(err, vfs.ErrInjected) {
			t.Log("close:", err)
		}
		s = openStore(t, opts)
		w = workspace(t, s, "ws")
	}
	t.Logf("%d writes acknowledged, %d failed", len(acked), errs.Load())
}

// TestApplyAsync applies a stream of remote updates without waiting for
// each: they are logged in call order, share fsyncs, and every wait
// returns the LSN Apply would have.
func TestApplyAsync(t *testing.T) {
	fs := vfs.NewErrorFS(vfs.NewMem(), slowSync(time.Millisecond))
	opts := testOptions(fs)
	opts.Durability = oplog.SyncAlways
	s := openStore(t, opts)
	w := workspace(t, s, "ws")
	p := newPeer(5)
	var ups [][]byte
	ups = append(ups, p.edit(t, func(b *Blocks) error { _, err := b.Create(NewBlock{ID: "a", Flavour: "f"}); return err })...)
	for i := range 50 {
		ups = append(ups, p.edit(t, func(b *Blocks) error { return b.SetProp("a", "n", i) })...)
	}
	waits := make([]func() (oplog.LSN, error), 0, len(ups)+1)
	for _, u := range ups {
		wait, err := w.ApplyAsync(bg, u, "peer")
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, wait)
	}
	dup, err := w.ApplyAsync(bg, ups[3], "peer") // a duplicate: the last LSN, once durable
	if err != nil {
		t.Fatal(err)
	}
	waits = append(waits, dup)
	for i, wait := range waits {
		lsn, err := wait()
		want := oplog.LSN(min(i+1, len(ups)))
		if err != nil || lsn != want {
			t.Fatalf("wait %d = %d, %v; want %d", i, lsn, err, want)
		}
	}
	if b := get(t, w, "a"); b.Props["n"] != float64(49) {
		t.Fatalf("n = %v", b.Props["n"])
	}
	if st := w.live.Load().log.Stats(); st.Syncs >= st.Records {
		t.Fatalf("%d fsyncs for %d records", st.Syncs, st.Records)
	}
	if _, err := w.ApplyAsync(bg, []byte{1, 2, 3}, "peer"); err == nil {
		t.Fatal("malformed update: no error")
	}
	checkViews(t, w, "after ApplyAsync")
}
