package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

// docUpdates makes n small updates of a fresh document with clientID.
func docUpdates(clientID uint64, name string, n int) [][]byte {
	doc := crdt.MustNewDoc(crdt.Options{ClientID: clientID})
	var ups [][]byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { ups = append(ups, append([]byte(nil), u...)) })
	for i := 0; i < n; i++ {
		doc.Transact(nil, func(tx *crdt.Txn) { insertText(name, 0, "x")(tx, doc) })
	}
	return ups
}

// readRuns reads Update messages from c until they cover want, in order:
// each message must be either the next update of want, byte for byte, or
// the merge (crdt.MergeUpdates) of the next few (a writer coalesces the
// updates queued for a connection). It returns the number of updates of
// want each message held.
func readRuns(t *testing.T, c *websocket.Conn, want [][]byte) []int {
	t.Helper()
	var runs []int
	for i := 0; i < len(want); {
		m, ok := readMsg(t, c).(ysync.Update)
		if !ok {
			t.Fatalf("message %d = %v, want an Update", len(runs), m)
		}
		n := matchRun(t, m.Update, want[i:])
		if n == 0 {
			t.Fatalf("message %d is neither the update of LSN %d nor a merge of it with the ones after it", len(runs), i+1)
		}
		runs = append(runs, n)
		i += n
	}
	return runs
}

// matchRun returns n if got is the merge of want[:n] (want[0] itself for
// n == 1), or 0.
func matchRun(t *testing.T, got []byte, want [][]byte) int {
	t.Helper()
	for n := 1; n <= len(want); n++ {
		merged, err := crdt.MergeUpdates(want[:n])
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, merged) {
			return n
		}
	}
	return 0
}

// TestBroadcastFromEveryPath applies updates concurrently through three
// paths — Workspace.Apply called directly (as replication does), HTTP POST
// and the block API — and checks that a WebSocket client receives every
// logged update once, in LSN order (alone or merged with the ones that
// follow it), and nothing else.
func TestBroadcastFromEveryPath(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	ctx := context.Background()
	c, ws := e.greeted(t, "bc")
	const n = 15
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // "replication"
		defer wg.Done()
		for _, u := range docUpdates(1, "a", n) {
			if _, err := ws.Apply(ctx, u, "peer"); err != nil {
				t.Error(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for _, u := range docUpdates(2, "b", n) {
			if r := do(t, "POST", e.hs.URL+"/api/workspaces/bc/update", "", u); r.status != 200 {
				t.Errorf("POST = %d %s", r.status, r.body)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			r := do(t, "POST", e.hs.URL+"/api/workspaces/bc/blocks", "", map[string]any{"flavour": "affine:paragraph", "id": fmt.Sprint("p", i)})
			if r.status != http.StatusCreated {
				t.Errorf("create = %d %s", r.status, r.body)
			}
		}
	}()
	wg.Wait()
	last, err := ws.LastLSN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last != 3*n {
		t.Fatalf("last LSN = %d, want %d", last, 3*n)
	}
	// The logged updates, in LSN order.
	sub, err := ws.Subscribe(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for ch := range sub.C {
		want = append(want, ch.Update)
		if ch.LSN == last {
			break
		}
	}
	sub.Close()
	readRuns(t, c, want)
	// Exactly once: nothing more arrives.
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, data, err := c.Read(rctx); err == nil {
		t.Fatalf("extra message %x", data)
	}
}

// TestBroadcastBlockAPIToClients checks a block created through the
// block API reaches two Go clients' documents.
func TestBroadcastBlockAPIToClients(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	a := newSyncClient(t, e.wsURL("blk"), 11)
	b := newSyncClient(t, e.wsURL("blk"), 12)
	waitFor(t, "both clients to sync", func() bool { return len(a.received()) > 0 && len(b.received()) > 0 })
	r := do(t, "POST", e.hs.URL+"/api/workspaces/blk/blocks", "", map[string]any{"id": "page", "flavour": "affine:page", "props": map[string]any{"title": "hi"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create = %d %s", r.status, r.body)
	}
	for _, sc := range []*syncClient{a, b} {
		waitFor(t, "the block to reach a client", func() bool {
			sc.mu.Lock()
			defer sc.mu.Unlock()
			m, err := sc.doc.GetMap("space:" + engine.DefaultSpace)
			if err != nil {
				return false
			}
			_, ok := m.Get("page")
			return ok
		})
	}
}
