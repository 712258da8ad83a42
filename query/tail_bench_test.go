package query

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
)

// BenchmarkTailStreams opens N filtered change streams FROM NOW on a
// workspace of 20,000 blocks (pages of 100 paragraphs, durability none),
// makes one edit every stream reports, reads it from all of them and
// closes them. open-ms is the time to open the N streams, heap-MB the
// live heap while they are open beyond the workspace's own (after a GC),
// deliver-ms the time from the edit to its last delivery. Measured once
// per run, on the first iteration.
//
//	go test -run '^$' -bench TailStreams -benchtime 3x ./query
func BenchmarkTailStreams(b *testing.B) {
	for _, n := range []int{1, 50} {
		b.Run(fmt.Sprintf("streams=%d", n), func(b *testing.B) {
			ctx := context.Background()
			st, err := engine.Open(b.TempDir(), &engine.Options{IdleTimeout: -1, Durability: oplog.SyncNone})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			ws, err := st.Workspace(ctx, "w")
			if err != nil {
				b.Fatal(err)
			}
			const blocks, perPage = 20_000, 100
			for p := 0; p < blocks/perPage; p++ {
				_, err := ws.Transact(ctx, "gen", func(_ *crdt.Txn, bl *engine.Blocks) error {
					page, err := bl.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprint("page", p)), Flavour: "affine:page", Creator: "u0"})
					if err != nil {
						return err
					}
					for j := 1; j < perPage; j++ {
						if _, err := bl.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprintf("b%d-%d", p, j)), Flavour: "affine:paragraph",
							Parent: page, Creator: fmt.Sprint("u", j%10), Props: map[string]any{"text": engine.RichText{Text: "some words of text"}}}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			var m0, m1 runtime.MemStats
			first := true
			for i := 0; b.Loop(); i++ {
				if first {
					runtime.GC()
					runtime.ReadMemStats(&m0)
				}
				t0 := time.Now()
				streams := make([]*TailStream, n)
				for k := range streams {
					// Predicates differ per stream; each matches the edit below.
					s, err := OpenTail(ctx, ws, "(creator = $1 OR DESCENDANT OF $2) AND type = 'affine:paragraph'",
						[]any{fmt.Sprint("u", k%10), "page0"}, 0)
					if err != nil {
						b.Fatal(err)
					}
					streams[k] = s
				}
				openD := time.Since(t0)
				if first {
					runtime.GC()
					runtime.ReadMemStats(&m1)
				}
				t1 := time.Now()
				if _, err := ws.Transact(ctx, "edit", func(_ *crdt.Txn, bl *engine.Blocks) error {
					return bl.SetProp(engine.BlockID(fmt.Sprintf("b0-%d", 1+i%(perPage-1))), "title", fmt.Sprint("t", i))
				}); err != nil {
					b.Fatal(err)
				}
				for _, s := range streams {
					select {
					case <-s.C:
					case <-time.After(time.Minute):
						b.Fatal("no event")
					}
				}
				deliverD := time.Since(t1)
				for _, s := range streams {
					s.Close()
				}
				if first {
					b.ReportMetric(float64(openD.Microseconds())/1e3, "open-ms")
					b.ReportMetric(float64(deliverD.Microseconds())/1e3, "deliver-ms")
					b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/1e6, "heap-MB")
					first = false
				}
			}
		})
	}
}
