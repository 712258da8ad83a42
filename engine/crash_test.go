package engine

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

var crashSeeds = flag.Int("crash.seeds", 12, "rounds of TestCrashRecovery")

// TestCrashRecovery applies a client's updates while a simulated power loss
// (vfs.MemFS.CrashClone, keeping only fsynced bytes and durable directory
// entries, plus a random torn share of the rest) happens at a random moment.
// The workspace recovered from the crashed disk must hold every update
// acknowledged before the crash (SyncAlways), may lack the unacknowledged
// ones, and must equal a replay of exactly the updates its log kept.
// Snapshots run in the background meanwhile; in half the rounds the
// store commits through its journal (Options.Journal), and the recovery
// replays it whether or not it uses one. Failures print the seed.
func TestCrashRecovery(t *testing.T) {
	for seed := range uint64(*crashSeeds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { crashRound(t, seed) })
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	const n = 120
	ed := newEditor(seed, 300+seed)
	ups := make([][]byte, n)
	for i := range ups {
		ups[i] = ed.step()
	}
	fs := vfs.NewCrashableMem()
	opts := testOptions(fs)
	opts.SnapshotRecords = 5 + rng.IntN(30)
	opts.LogOptions.SegmentSize = int64(1024 + rng.IntN(8192))
	opts.Journal = rng.IntN(2) == 0
	s := openStore(t, opts)
	w := workspace(t, s, "ws")

	var acked atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i, u := range ups {
			lsn, err := w.Apply(bg, u, "peer")
			if err != nil {
				t.Errorf("seed %d: Apply %d: %v", seed, i, err)
				return
			}
			if lsn != oplog.LSN(i+1) {
				t.Errorf("seed %d: update %d at LSN %d", seed, i, lsn)
			}
			acked.Store(int64(i + 1))
		}
	})
	time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
	before := acked.Load()
	var copts vfs.CrashOptions
	if rng.IntN(2) == 0 {
		copts = vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, 1)), Garbage: rng.IntN(2) == 0}
	}
	crashed := fs.CrashClone(copts)
	wg.Wait()
	if st := s.Stats(); opts.Journal && st.SyncRounds < n {
		t.Fatalf("seed %d: with a journal, %d journal rounds for %d updates", seed, st.SyncRounds, n)
	}

	opts2 := testOptions(crashed)
	opts2.Journal = rng.IntN(2) == 0 // a journal left behind is replayed either way
	s2, err := Open("/store", opts2)
	if err != nil {
		t.Fatalf("seed %d: Open after crash: %v", seed, err)
	}
	defer s2.Close()
	w2, err := s2.Workspace(bg, "ws")
	if err != nil {
		t.Fatalf("seed %d: Workspace after crash: %v", seed, err)
	}
	kept, _ := w2.LastLSN(bg)
	if int64(kept) < before {
		t.Fatalf("seed %d: %d updates acknowledged before the crash, %d recovered", seed, before, kept)
	}
	ref := crdt.MustNewDoc(crdt.Options{ClientID: 1})
	for _, u := range ups[:kept] {
		if err := ref.ApplyUpdate(u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := encodeState(t, w2); !bytes.Equal(got, ref.EncodeStateAsUpdate(nil)) {
		t.Fatalf("seed %d: recovered state differs from a replay of the %d kept updates", seed, kept)
	}
	if id, _ := w2.ClientID(bg); id != 1001 {
		t.Fatalf("seed %d: client id %d after crash", seed, id)
	}
	checkViews(t, w2, fmt.Sprintf("seed %d after crash", seed))
	// The recovered workspace goes on.
	if int(kept) < n {
		if lsn := apply(t, w2, ups[kept], "peer"); lsn != kept+1 {
			t.Fatalf("seed %d: next update at %d", seed, lsn)
		}
	}
	t.Logf("seed %d: journal %v then %v: %d acknowledged before the crash, %d recovered", seed, opts.Journal, opts2.Journal, before, kept)
}
