package jetstream

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	njs "github.com/nats-io/nats.go/jetstream"

	"octobase/engine/crdt"
	"octobase/oplog"
)

// TestMeasureReplication prints rough figures for docs/replication.md:
// updates/s from Apply on n1 to applied on n3 in a 3-node cluster, the
// apply-to-visible latency of single updates, and raw JetStream async
// publish throughput on the same cluster. Behind OCTOBASE_MEASURE=1 (it
// asserts only that everything arrived; the numbers are for reading).
func TestMeasureReplication(t *testing.T) {
	if os.Getenv("OCTOBASE_MEASURE") == "" {
		t.Skip("set OCTOBASE_MEASURE=1")
	}
	nodes := cluster(t, 3)
	n1, n3 := nodes[0], nodes[2]
	n1.createBlock("warm", "x", "x")
	waitBlock(t, n3, "warm", "x")

	for _, size := range []int{64, 1024} {
		const count = 2000
		ups := textUpdates(t, 7000+uint64(size), count, size)
		w1 := n1.ws(fmt.Sprint("tput", size))
		pub0, msgs0 := n1.node.published.Load(), n1.node.publishedMsgs.Load()
		start := time.Now()
		for _, u := range ups {
			if _, err := w1.Apply(bg, u, "bench"); err != nil {
				t.Fatal(err)
			}
		}
		applied := time.Since(start)
		w3name := fmt.Sprint("tput", size)
		deadline := time.Now().Add(2 * time.Minute)
		var published time.Duration
		for {
			if published == 0 && n1.node.published.Load()-pub0 >= count {
				published = time.Since(start)
			}
			if names, _ := n3.store.Workspaces(); slices.Contains(names, w3name) && n3.lastLSN(w3name) == oplog.LSN(count) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("throughput run did not arrive")
			}
			time.Sleep(time.Millisecond)
		}
		total := time.Since(start)
		acked := "after n3 had them all"
		if published > 0 {
			acked = "after " + published.Round(time.Millisecond).String()
		}
		t.Logf("%4d B updates: %d applied on n1 in %v (%.0f/s); all acknowledged by JetStream %s; all on n3 after %v: %.0f updates/s end to end, in %d messages",
			size, count, applied.Round(time.Millisecond), count/applied.Seconds(), acked, total.Round(time.Millisecond), count/total.Seconds(),
			n1.node.publishedMsgs.Load()-msgs0)

		// Latency: one update at a time, apply on n1 → applied on n3.
		lat := textUpdates(t, 8000+uint64(size), 200, size)
		wl := n1.ws(fmt.Sprint("lat", size))
		var ds []time.Duration
		for i, u := range lat {
			t0 := time.Now()
			if _, err := wl.Apply(bg, u, "bench"); err != nil {
				t.Fatal(err)
			}
			for {
				if names, _ := n3.store.Workspaces(); slices.Contains(names, fmt.Sprint("lat", size)) && n3.lastLSN(fmt.Sprint("lat", size)) == oplog.LSN(i+1) {
					break
				}
				time.Sleep(100 * time.Microsecond)
			}
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		t.Logf("%4d B updates: apply on n1 → applied on n3: p50 %v p99 %v max %v", size,
			ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*99/100].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))

		// Raw JetStream: async publish of the same payload size on n1's
		// server, same stream (another subject), all acks awaited.
		nc, err := nats.Connect(n1.node.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		js, _ := njs.New(nc, njs.WithPublishAsyncMaxPending(1024))
		rawStream := fmt.Sprint("RAW", size)
		if _, err := js.CreateStream(bg, njs.StreamConfig{Name: rawStream, Subjects: []string{"raw." + rawStream},
			Storage: njs.FileStorage, Replicas: 3}); err != nil {
			t.Fatal(err)
		}
		payload := []byte(strings.Repeat("x", size))
		const raw = 20000
		start = time.Now()
		for i := range raw {
			if _, err := js.PublishAsync("raw."+rawStream, payload, njs.WithMsgID(fmt.Sprint("r", size, ".", i)), njs.WithStallWait(5*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			t.Fatal("raw publishes not acknowledged")
		}
		d := time.Since(start)
		t.Logf("%4d B raw JetStream async publish (own R3 stream, same cluster): %.0f msgs/s", size, raw/d.Seconds())
		nc.Close()
	}
}

// textUpdates returns n v1 updates of one document, each inserting about
// size bytes of text.
func textUpdates(t testing.TB, client uint64, n, size int) [][]byte {
	doc := crdt.MustNewDoc(crdt.Options{ClientID: client})
	var out [][]byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { out = append(out, append([]byte(nil), u...)) })
	chunk := strings.Repeat("y", max(1, size-20))
	for range n {
		doc.Transact(nil, func(tx *crdt.Txn) {
			x, _ := doc.GetText("t")
			if err := x.Insert(tx, x.Len(), chunk, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
	return out
}
