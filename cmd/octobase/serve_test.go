package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

func TestServeAuthFlagsExclusive(t *testing.T) {
	r := runCLI(t, nil, "serve", "--data", t.TempDir(), "--auth", "--insecure-no-auth")
	if r.code != exitUsage || !strings.Contains(r.stderr, "exclude") {
		t.Errorf("serve --auth --insecure-no-auth: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestServeHelp(t *testing.T) {
	r := mustRun(t, nil, "help", "serve")
	for _, want := range []string{"--data", "--addr", "--insecure-no-auth", "--auth", "--auth-secret", "--max-message-size", "--max-document-size", "--max-connections", "--max-workspace-connections", "OCTOBASE_DATA", "OCTOBASE_ADDR", "OCTOBASE_AUTH_SECRET"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help serve lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:3000": true, "localhost:1": true, "[::1]:3000": true,
		"0.0.0.0:3000": false, ":3000": false, "example.com:80": false, "10.0.0.1:1": false,
	} {
		if got, err := isLoopback(addr); err != nil || got != want {
			t.Errorf("isLoopback(%q) = %v, %v; want %v", addr, got, err, want)
		}
	}
	if _, err := isLoopback("nope"); err == nil {
		t.Error("isLoopback(nope): no error")
	}
}

// syncBuffer is a bytes.Buffer safe for the server's logging goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeLifecycle runs serve with its settings from the environment,
// syncs over HTTP and WebSocket, stops it like a signal would, and checks
// the store was closed with the data in it.
func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envData: dir, envAddr: "127.0.0.1:0"}
	r := &serveRunner{getenv: func(k string) string { return env[k] }}
	srv := startBackground(t, "serve", r, &r.ready)
	addr, stderr := srv.addr, srv.stderr

	// POST an update, then read it back over WebSocket.
	doc := crdt.MustNewDoc(crdt.Options{ClientID: 1})
	var upd []byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { upd = append([]byte(nil), u...) })
	doc.Transact(nil, func(tx *crdt.Txn) {
		x, _ := doc.GetText("t")
		_ = x.Insert(tx, 0, "served", nil)
	})
	resp, err := http.Post("http://"+addr+"/api/workspaces/w/update", "application/octet-stream", bytes.NewReader(upd))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(wctx, "ws://"+addr+"/sync/w", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(wctx, websocket.MessageBinary, ysync.Step1(crdt.MustNewDoc(crdt.Options{ClientID: 2}))); err != nil {
		t.Fatal(err)
	}
	for got := false; !got; {
		_, data, err := c.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ysync.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if s2, ok := m.(ysync.SyncStep2); ok {
			d := crdt.MustNewDoc(crdt.Options{ClientID: 3})
			if err := d.ApplyUpdate(s2.Update, nil); err != nil {
				t.Fatal(err)
			}
			if x, _ := d.GetText("t"); x.String() != "served" {
				t.Fatalf("step 2 text = %q", x.String())
			}
			got = true
		}
	}

	// Stop (what SIGINT does through main's context): the WebSocket client
	// is told the server is going away, and the store is closed.
	closed := make(chan error, 1)
	go func() {
		var err error
		for err == nil {
			_, _, err = c.Read(wctx)
		}
		closed <- err
	}()
	if err := srv.stop(); err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr.String())
	}
	if err := <-closed; websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("client close = %v, want 1001", err)
	}
	for _, want := range []string{"listening", "shutting down", "stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, stderr.String())
		}
	}

	// The store was released and holds the update.
	store, err := engine.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, err := store.Workspace(context.Background(), "w")
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.EncodeStateAsUpdate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := crdt.MustNewDoc(crdt.Options{ClientID: 4})
	if err := d.ApplyUpdate(u, nil); err != nil {
		t.Fatal(err)
	}
	if x, _ := d.GetText("t"); x.String() != "served" {
		t.Fatalf("after stop text = %q", x.String())
	}
}
