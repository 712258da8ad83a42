package engine

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

var reopenBlocks = flag.Int("reopen.blocks", 5000, "blocks in BenchmarkReopen's workspace (e.g. 100000)")

// BenchmarkReopen measures opening a workspace of -reopen.blocks blocks
// (pages of 100 paragraphs with rich text and JSON props) from its newest
// snapshot (taken at 90% of the blocks) plus the log tail after it: the
// remaining blocks and as many text edits.
func BenchmarkReopen(b *testing.B) {
	n := *reopenBlocks
	dir := b.TempDir()
	opts := &Options{Durability: oplog.SyncNone, IdleTimeout: -1, SnapshotRecords: -1, SnapshotBytes: -1, NewBlockID: seqIDs()}
	s, err := Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	w := workspace(b, s, "bench")
	const perTxn = 100
	var snapLSN oplog.LSN
	for i := 0; i < n; i += perTxn {
		transact(b, w, func(bl *Blocks) error {
			page, err := bl.Create(NewBlock{Flavour: "affine:page", Props: map[string]any{"title": RichText{Text: fmt.Sprint("Page ", i)}}})
			if err != nil {
				return err
			}
			for j := 1; j < perTxn && i+j < n; j++ {
				props := map[string]any{"text": RichText{Text: fmt.Sprintf("Paragraph %d of page %d, with some words in it.", j, i)}, "type": "text"}
				if j%10 == 0 {
					props["link"] = map[string]any{"$ref": string(page)}
				}
				if _, err := bl.Create(NewBlock{Flavour: "affine:paragraph", Parent: page, Creator: "bench", Props: props}); err != nil {
					return err
				}
			}
			return nil
		})
		if snapLSN == 0 && i+perTxn >= n*9/10 {
			if snapLSN, err = w.Snapshot(bg); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Typing in the tail: one record per keystroke.
	tailEdits := max(n/100, 10)
	for k := range tailEdits {
		transact(b, w, func(bl *Blocks) error {
			txt, err := bl.Text("b2", "text")
			if err != nil {
				return err
			}
			return txt.Insert(bl.Txn(), k%txt.Len(), "x", nil)
		})
	}
	last, _ := w.LastLSN(bg)
	var snapBytes int
	if l, _, _, err := w.openLog(); err == nil {
		if sn, err := l.LatestSnapshot(); err == nil {
			snapBytes = len(sn.Data)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		w := workspace(b, s, "bench")
		if err := w.View(bg, func(v *ReadView) error {
			if v.Len() != n {
				b.Fatalf("%d blocks after reopen, want %d", v.Len(), n)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
	b.ReportMetric(float64(n), "blocks")
	b.ReportMetric(float64(last-snapLSN), "tail-records")
	b.ReportMetric(float64(snapBytes), "snapshot-bytes")
}

// BenchmarkApply measures Apply of small typing updates from a remote
// client into a workspace of 1000 blocks, on an in-memory filesystem (the
// engine's overhead, not fsync's).
func BenchmarkApply(b *testing.B) {
	benchApply(b, (*Workspace).Apply)
}

// BenchmarkApplyComplete is BenchmarkApply through ApplyComplete (the
// server's path: each update is first checked for missing dependencies).
func BenchmarkApplyComplete(b *testing.B) {
	benchApply(b, (*Workspace).ApplyComplete)
}

func benchApply(b *testing.B, apply func(w *Workspace, ctx context.Context, update []byte, origin string) (oplog.LSN, error)) {
	opts := testOptions(vfs.NewMem())
	opts.Durability = oplog.SyncNone
	s := openStore(b, opts)
	w := workspace(b, s, "bench")
	transact(b, w, func(bl *Blocks) error {
		for i := range 1000 {
			if _, err := bl.Create(NewBlock{ID: BlockID(fmt.Sprint("b", i)), Flavour: "affine:paragraph", Props: map[string]any{"text": RichText{Text: "hello"}}}); err != nil {
				return err
			}
		}
		return nil
	})
	p := newPeer(4242)
	p.sync(b, w)
	var ups [][]byte
	gen := func() {
		ups = ups[:0]
		for i := range 4096 {
			ups = append(ups, p.edit(b, func(bl *Blocks) error {
				txt, err := bl.Text(BlockID(fmt.Sprint("b", i%1000)), "text")
				if err != nil {
					return err
				}
				return txt.Insert(bl.Txn(), txt.Len(), "x", nil)
			})...)
		}
	}
	gen()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(ups) {
			b.StopTimer()
			gen()
			i = 0
			b.StartTimer()
		}
		if _, err := apply(w, bg, ups[i], "peer"); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkConcurrentWriters measures Transact throughput of 1, 8 and 64
// goroutines writing to ONE workspace on the real disk in SyncAlways mode
// (each write is a small prop change, acknowledged once fsynced). With
// group commit across the workspace's writers, throughput grows with the
// writer count; without it, each write waits for its own fsync.
func BenchmarkConcurrentWriters(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			opts := testOptions(vfs.Default)
			opts.Durability = oplog.SyncAlways
			s, err := Open(b.TempDir(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := workspace(b, s, "bench")
			transact(b, w, func(bl *Blocks) error {
				for i := range 64 {
					if _, err := bl.Create(NewBlock{ID: BlockID(fmt.Sprint("b", i)), Flavour: "f"}); err != nil {
						return err
					}
				}
				return nil
			})
			var next atomic.Int64
			b.SetParallelism((writers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := BlockID(fmt.Sprint("b", next.Add(1)%64))
				for i := 0; pb.Next(); i++ {
					if _, err := w.Transact(bg, "bench", func(_ *crdt.Txn, bl *Blocks) error { return bl.SetProp(id, "n", i) }); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
