package server

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkBroadcast measures fan-out: each iteration applies one update
// (SyncNone durability) and waits until every one of subs WebSocket
// connections received it. ns/op divided by subs approximates the cost per
// update per subscriber (server and clients share the CPU here).
func BenchmarkBroadcast(b *testing.B) {
	for _, subs := range []int{10, 100} {
		b.Run(fmt.Sprint("subs=", subs), func(b *testing.B) {
			e := startServerB(b, Options{Logger: slog.New(slog.DiscardHandler), SendQueue: 4096})
			ctx := context.Background()
			var wg sync.WaitGroup
			got := make(chan struct{}, subs*64)
			for i := 0; i < subs; i++ {
				c, _, err := websocket.Dial(ctx, e.wsURL("bench"), nil)
				if err != nil {
					b.Fatal(err)
				}
				c.SetReadLimit(1 << 20)
				b.Cleanup(func() { c.CloseNow() })
				if _, _, err := c.Read(ctx); err != nil { // step 1
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if _, _, err := c.Read(ctx); err != nil {
							return
						}
						got <- struct{}{}
					}
				}()
			}
			ws, err := e.store.Workspace(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			ups := docUpdates(1, "t", b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ws.Apply(ctx, ups[i], "bench"); err != nil {
					b.Fatal(err)
				}
				for j := 0; j < subs; j++ {
					select {
					case <-got:
					case <-time.After(10 * time.Second):
						b.Fatal("broadcast timed out")
					}
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(subs), "ns/update/subscriber")
			e.stop()
			wg.Wait()
		})
	}
}

// startServerB is startServer for benchmarks.
func startServerB(b *testing.B, opts Options) *testEnv {
	b.Helper()
	return startServerTB(b, b.TempDir(), opts)
}
