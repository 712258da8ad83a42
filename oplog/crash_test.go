package oplog

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"octobase/oplog/oplogtest"
	"octobase/oplog/vfs"
)

var crashRounds = flag.Int("crash.rounds", 40, "rounds of TestCrashRecovery")

// chainHash is the test's "state": a hash chained over (LSN, data) of every
// record in order. Snapshots store it, so recovery can check that a
// snapshot's state plus the records after it reproduce the original chain.
func chainHash(prev uint64, lsn LSN, data []byte) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], prev)
	binary.LittleEndian.PutUint64(b[8:], uint64(lsn))
	h.Write(b[:])
	h.Write(data)
	return h.Sum64()
}

// TestCrashRecovery runs seeded rounds of: concurrent appenders (single and
// batched), a tailing reader that maintains a state, snapshots and
// compaction, then a simulated power loss at a random moment (keeping only
// fsynced bytes and durable directory entries, plus a random torn share of
// the rest, sometimes followed by garbage), then recovery. It checks that
// Open succeeds, every acknowledged record (in SyncAlways mode) is present
// with its data, LSNs are contiguous, the tail verifies, snapshots replay to
// the same state, and the log keeps working. Failures print the seed;
// rerun one with -run 'TestCrashRecovery/seed=N'.
func TestCrashRecovery(t *testing.T) {
	for seed := range uint64(*crashRounds) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { crashRound(t, seed) })
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0xc0ffee))
	mode := []Durability{SyncAlways, SyncAlways, SyncAlways, SyncInterval, SyncNone}[rng.IntN(5)]
	opts := Options{
		Durability:   mode,
		SyncInterval: time.Millisecond,
		SegmentSize:  int64(1024 + rng.IntN(16<<10)),
		FrameSize:    128 + rng.IntN(4096),
		Compression:  []Compression{CompressionNone, CompressionS2, CompressionZstd}[rng.IntN(3)],
	}
	fs := vfs.NewCrashableMem()
	var lfs vfs.FS = fs
	if rng.IntN(2) == 0 {
		// A slow fsync widens the window in which written bytes are not yet
		// durable, so crashes land there too (torn tails in SyncAlways mode).
		lfs = vfs.NewErrorFS(fs, vfs.InjectorFunc(func(op *vfs.Op) error {
			if op.Kind == vfs.OpSync {
				time.Sleep(200 * time.Microsecond)
			}
			return nil
		}))
	}
	l := mustOpen(t, lfs, opts)

	var stop atomic.Bool
	var mu sync.Mutex
	acked := map[LSN][]byte{}
	chain := map[LSN]uint64{0: 0} // LSN → state after it, as the tailer saw it
	var wg sync.WaitGroup
	writers := 1 + rng.IntN(8)
	for w := range writers {
		wg.Go(func() {
			g := oplogtest.NewUpdateGen(seed*1000 + uint64(w))
			for i := 0; !stop.Load(); i++ {
				if i%7 == 3 {
					recs := []Record{{Data: g.Next()}, {Origin: "peer:1", Data: g.Next()}, {Data: g.Next()}}
					first, err := l.AppendBatch(context.Background(), recs)
					if err != nil {
						return
					}
					mu.Lock()
					for j := range recs {
						acked[first+LSN(j)] = recs[j].Data
					}
					mu.Unlock()
					continue
				}
				data := g.Next()
				lsn, err := l.Append(context.Background(), Record{Origin: g.Origin(), Data: data})
				if err != nil {
					return
				}
				mu.Lock()
				acked[lsn] = data
				mu.Unlock()
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var tailPos atomic.Uint64
	wg.Go(func() {
		var h uint64
		l.Tail(ctx, 1, func(r Record) error {
			h = chainHash(h, r.LSN, r.Data)
			mu.Lock()
			chain[r.LSN] = h
			mu.Unlock()
			tailPos.Store(uint64(r.LSN))
			return nil
		})
	})
	maintRand := rand.New(rand.NewPCG(seed, 7))
	wg.Go(func() {
		for !stop.Load() {
			time.Sleep(time.Duration(maintRand.IntN(1500)) * time.Microsecond)
			p := LSN(tailPos.Load())
			if p == 0 {
				continue
			}
			mu.Lock()
			h := chain[p]
			mu.Unlock()
			if err := l.WriteSnapshot(p, binary.LittleEndian.AppendUint64(nil, h)); err != nil {
				if !stop.Load() {
					t.Errorf("WriteSnapshot(%d): %v", p, err)
				}
				return
			}
			if maintRand.IntN(2) == 0 {
				if _, err := l.Compact(Retention{Records: uint64(maintRand.IntN(300))}); err != nil && !stop.Load() {
					t.Errorf("Compact: %v", err)
					return
				}
			}
		}
	})

	// Crash after a random number of acknowledged appends.
	target := 10 + rng.IntN(600)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Microsecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= target || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	ackedBefore := make(map[LSN][]byte, len(acked))
	for k, v := range acked {
		ackedBefore[k] = v
	}
	mu.Unlock()
	crashOpts := vfs.CrashOptions{}
	if rng.IntN(4) != 0 {
		crashOpts = vfs.CrashOptions{Rand: rand.New(rand.NewPCG(seed, 99)), Garbage: rng.IntN(2) == 0}
	}
	crashed := fs.CrashClone(crashOpts)
	stop.Store(true)
	cancel()
	l.Close()
	wg.Wait()

	// Recover.
	logger, logBuf := testLogger(t)
	ropts := opts
	ropts.FS, ropts.Logger = crashed, logger
	l2, err := Open(testDir, &ropts)
	if err != nil {
		t.Fatalf("seed %d (%s): Open after crash: %v", seed, mode, err)
	}
	rs := l2.Recovery()
	// A torn tail may be empty: a crash can keep the directory entry of a
	// segment just created while losing its unsynced header.
	if (rs.TornSegment != "") != strings.Contains(logBuf.String(), "torn tail") || (rs.TornBytes > 0 && rs.TornSegment == "") {
		t.Fatalf("recovery %+v, log %q", rs, logBuf.String())
	}
	first := l2.FirstLSN()
	got := readAll(t, l2, first)
	present := map[LSN][]byte{}
	for i, r := range got {
		if r.LSN != first+LSN(i) {
			t.Fatalf("LSN %d at position %d from %d: not contiguous", r.LSN, i, first)
		}
		present[r.LSN] = r.Data
	}
	last := first + LSN(len(got)) - 1
	for lsn, data := range ackedBefore {
		p, ok := present[lsn]
		switch {
		case ok && string(p) != string(data):
			t.Fatalf("LSN %d holds %x, acknowledged %x", lsn, p, data)
		case !ok && lsn >= first && mode == SyncAlways:
			t.Fatalf("seed %d: acknowledged LSN %d lost (log holds %d..%d, %d acked, torn %d bytes)",
				seed, lsn, first, last, len(ackedBefore), rs.TornBytes)
		}
	}

	// Snapshots replay to the state the tailer computed.
	if snap, err := l2.LatestSnapshot(); err == nil {
		if snap.LSN+1 < first || snap.LSN > last {
			t.Fatalf("snapshot %d does not anchor the log %d..%d", snap.LSN, first, last)
		}
		h := binary.LittleEndian.Uint64(snap.Data)
		mu.Lock()
		if want, ok := chain[snap.LSN]; ok && want != h {
			t.Fatalf("snapshot %d state %x, tailer saw %x", snap.LSN, h, want)
		}
		for _, r := range got {
			if r.LSN <= snap.LSN {
				continue
			}
			h = chainHash(h, r.LSN, r.Data)
			if want, ok := chain[r.LSN]; ok && want != h {
				t.Fatalf("replayed state at %d differs from the original", r.LSN)
			}
		}
		mu.Unlock()
	} else if !errors.Is(err, ErrNoSnapshot) {
		t.Fatal(err)
	} else if first != 1 {
		t.Fatalf("log starts at %d without a snapshot", first)
	}

	t.Logf("seed %d %s: %d writers, %d acked, log %d..%d, torn %d bytes, segments %d, snapshots %v",
		seed, mode, writers, len(ackedBefore), first, last, rs.TornBytes, rs.Segments, must(l2.Snapshots()))

	// The recovered log verifies and keeps working across another crash.
	if _, err := Verify(crashed, testDir); err != nil {
		t.Fatalf("Verify after recovery: %v", err)
	}
	more := genRecords(seed, 30)
	ropts.Durability = SyncAlways
	l2.Close()
	l3 := mustOpen(t, crashed, ropts)
	appendAll(t, l3, more)
	if more[0].LSN != last+1 {
		t.Fatalf("appends resumed at %d, want %d", more[0].LSN, last+1)
	}
	again := crashed.CrashClone(vfs.CrashOptions{})
	l3.Close()
	l4 := mustOpen(t, again, ropts)
	defer l4.Close()
	if rs := l4.Recovery(); rs.TornBytes != 0 {
		t.Fatalf("second recovery found a torn tail: %+v", rs)
	}
	checkRecords(t, readAll(t, l4, last+1), more)
}

// TestCrashDuringRotation crashes at every directory and file sync while
// segments rotate, to cover a new segment whose header or directory entry
// is not yet durable.
func TestCrashDuringRotation(t *testing.T) {
	for stopAt := int64(1); stopAt <= 12; stopAt++ {
		t.Run(fmt.Sprint(stopAt), func(t *testing.T) {
			base := vfs.NewCrashableMem()
			var clone *vfs.MemFS
			var syncs atomic.Int64
			var once sync.Once
			efs := vfs.NewErrorFS(base, vfs.InjectorFunc(func(op *vfs.Op) error {
				if op.Kind == vfs.OpSync || op.Kind == vfs.OpSyncDir || op.Kind == vfs.OpCreate {
					if syncs.Add(1) == stopAt {
						once.Do(func() { clone = base.CrashClone(vfs.CrashOptions{Rand: rand.New(rand.NewPCG(uint64(stopAt), 1))}) })
					}
				}
				return nil
			}))
			l := mustOpen(t, efs, Options{SegmentSize: 1024})
			recs := genRecords(uint64(stopAt), 120)
			acked := 0
			for i := range recs {
				lsn, err := l.Append(context.Background(), recs[i])
				if err != nil {
					t.Fatal(err)
				}
				recs[i].LSN = lsn
				if clone == nil {
					acked = i + 1
				}
			}
			l.Close()
			if clone == nil {
				t.Skip("fewer syncs than stopAt")
			}
			l2 := mustOpen(t, clone, Options{})
			defer l2.Close()
			got := readAll(t, l2, 0)
			if len(got) < acked {
				t.Fatalf("%d records after crash, %d were acknowledged", len(got), acked)
			}
			checkRecords(t, got, recs[:len(got)])
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
