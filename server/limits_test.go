package server

import (
	"context"
	"net/http"
	"testing"

	"github.com/coder/websocket"

	"octobase/replication/ysync"
)

func TestDocumentSizeLimit(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxDocumentSize: 600})
	ctx := context.Background()
	ws, err := e.store.Workspace(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	ups := docUpdates(1, "t", 100) // ~30 bytes each
	url := e.hs.URL + "/api/workspaces/big/update"
	i := 0
	for ; i < len(ups); i++ {
		r := do(t, "POST", url, "", ups[i])
		if r.status == http.StatusRequestEntityTooLarge {
			r.wantError(t, 413, codeDocTooLarge)
			break
		}
		if r.status != 200 {
			t.Fatalf("POST %d = %d %s", i, r.status, r.body)
		}
	}
	if i == 0 || i == len(ups) {
		t.Fatalf("refused at update %d of %d, want somewhere in between", i, len(ups))
	}
	last, _ := ws.LastLSN(ctx)

	// A WebSocket client pushing more is closed with 4413, and nothing
	// is logged.
	c := dial(t, e.wsURL("big"), nil)
	readMsg(t, c)
	writeMsg(t, c, ysync.AppendUpdate(nil, ups[i]))
	if code, reason := wsClosed(t, c); code != statusDocTooLarge || reason == "" {
		t.Fatalf("close = %d %q, want 4413", code, reason)
	}
	// The block API refuses too.
	do(t, "POST", e.hs.URL+"/api/workspaces/big/blocks", "", map[string]any{"flavour": "x"}).wantError(t, 413, codeDocTooLarge)
	if now, _ := ws.LastLSN(ctx); now != last {
		t.Fatalf("LSN %d -> %d after refused updates", last, now)
	}
	// Other workspaces are not affected.
	if r := do(t, "POST", e.hs.URL+"/api/workspaces/small/update", "", ups[0]); r.status != 200 {
		t.Fatalf("other workspace = %d %s", r.status, r.body)
	}
}

func TestConnectionLimits(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxConnections: 3, MaxConnectionsPerWorkspace: 2})
	a1 := dial(t, e.wsURL("a"), nil)
	readMsg(t, a1)
	a2 := dial(t, e.wsURL("a"), nil)
	readMsg(t, a2)
	// A third connection to "a" is over the workspace limit.
	a3 := dial(t, e.wsURL("a"), nil)
	if code, reason := wsClosed(t, a3); code != websocket.StatusTryAgainLater || reason != "too many connections to this workspace" {
		t.Fatalf("a3 close = %d %q", code, reason)
	}
	do(t, "GET", e.hs.URL+"/api/workspaces/a/changes", "", nil).wantError(t, 429, codeTooManyConns)
	// An SSE stream on "b" takes the node's last slot.
	openSSE(t, e.hs.URL+"/api/workspaces/b/changes", "", "")
	b2 := dial(t, e.wsURL("b"), nil)
	if code, reason := wsClosed(t, b2); code != websocket.StatusTryAgainLater || reason != "too many connections to this node" {
		t.Fatalf("b2 close = %d %q", code, reason)
	}
	r := do(t, "GET", e.hs.URL+"/api/workspaces/c/changes", "", nil)
	r.wantError(t, 503, codeTooManyConns)
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Leaving frees a slot.
	a1.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the slot to free", func() bool {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		return e.srv.mu.conns == 2
	})
	a4 := dial(t, e.wsURL("a"), nil)
	if _, ok := readMsg(t, a4).(ysync.SyncStep1); !ok {
		t.Fatal("a4 not served")
	}
}
