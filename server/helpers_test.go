package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/replication/ysync"
)

const testTimeout = 10 * time.Second

type testEnv struct {
	dir   string
	store *engine.Store
	srv   *Server
	hs    *httptest.Server
}

// startServer opens a store in dir and serves it; everything is closed when
// the test ends (or by stop).
func startServer(t *testing.T, dir string, opts Options) *testEnv {
	t.Helper()
	return startServerTB(t, dir, opts)
}

func startServerTB(t testing.TB, dir string, opts Options) *testEnv {
	t.Helper()
	return startServerHook(t, dir, opts, nil)
}

// startServerHook is startServer with Server.testHookWrite set to hook.
func startServerHook(t testing.TB, dir string, opts Options, hook func(*conn)) *testEnv {
	t.Helper()
	return startServerStore(t, dir, opts, &engine.Options{Durability: oplog.SyncNone, IdleTimeout: -1}, hook)
}

// startServerStore is startServerHook on a store opened with sopts.
func startServerStore(t testing.TB, dir string, opts Options, sopts *engine.Options, hook func(*conn)) *testEnv {
	t.Helper()
	store, err := engine.Open(dir, sopts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := New(store, opts)
	srv.testHookWrite = hook // before any connection
	e := &testEnv{dir: dir, store: store, srv: srv, hs: httptest.NewServer(srv)}
	t.Cleanup(e.stop)
	return e
}

func (e *testEnv) stop() {
	e.srv.Close()
	e.hs.Close()
	e.store.Close()
}

// greeted dials workspace name, requires the server's SyncStep1 first,
// and returns the connection with the store's workspace.
func (e *testEnv) greeted(t *testing.T, name string) (*websocket.Conn, *engine.Workspace) {
	t.Helper()
	c := dial(t, e.wsURL(name), nil)
	if _, ok := readMsg(t, c).(ysync.SyncStep1); !ok {
		t.Fatal("want SyncStep1 first")
	}
	ws, err := e.store.Workspace(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return c, ws
}

func (e *testEnv) wsURL(ws string) string {
	return "ws" + strings.TrimPrefix(e.hs.URL, "http") + "/sync/" + ws
}

// testWriter sends logs to t.Log, ignoring writes after the test ended.
type testWriter struct{ t testing.TB }

var logMu sync.Mutex

func (w testWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	defer func() { _ = recover() }() // t.Log after the test ended panics
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func dial(t *testing.T, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readMsg(t *testing.T, c *websocket.Conn) ysync.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	m, err := ysync.Decode(data)
	if err != nil {
		t.Fatalf("decode %x: %v", data, err)
	}
	return m
}

func writeMsg(t *testing.T, c *websocket.Conn, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// syncClient is a y-websocket-like Go client: a crdt.Doc kept in sync with
// the server by a read goroutine.
type syncClient struct {
	t    *testing.T
	c    *websocket.Conn
	mu   sync.Mutex
	doc  *crdt.Doc
	msgs []ysync.Message // every message received
	done chan struct{}
}

func newSyncClient(t *testing.T, url string, clientID uint64) *syncClient {
	t.Helper()
	sc := &syncClient{t: t, c: dial(t, url, nil), doc: crdt.MustNewDoc(crdt.Options{ClientID: clientID}), done: make(chan struct{})}
	go sc.readLoop()
	sc.mu.Lock()
	step1 := ysync.Step1(sc.doc)
	sc.mu.Unlock()
	writeMsg(t, sc.c, step1)
	return sc
}

func (sc *syncClient) readLoop() {
	defer close(sc.done)
	for {
		_, data, err := sc.c.Read(context.Background())
		if err != nil {
			return
		}
		m, err := ysync.Decode(data)
		if err != nil {
			sc.t.Errorf("client: decode %x: %v", data, err)
			return
		}
		sc.mu.Lock()
		sc.msgs = append(sc.msgs, m)
		var replies [][]byte
		if _, ok := m.(ysync.AwarenessUpdate); !ok {
			replies, err = ysync.HandleMessage(sc.doc, m, "remote", nil)
			if err != nil && !errors.Is(err, ysync.ErrNotSync) {
				sc.t.Errorf("client: handle %v: %v", m, err)
			}
		}
		sc.mu.Unlock()
		for _, r := range replies {
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			_ = sc.c.Write(ctx, websocket.MessageBinary, r)
			cancel()
		}
	}
}

// edit runs fn in a transaction and sends the update to the server.
func (sc *syncClient) edit(fn func(tx *crdt.Txn, d *crdt.Doc)) {
	sc.t.Helper()
	var upd []byte
	sc.mu.Lock()
	cancel := sc.doc.OnUpdate(func(u []byte, _ *crdt.Txn) { upd = append([]byte(nil), u...) })
	sc.doc.Transact("local", func(tx *crdt.Txn) { fn(tx, sc.doc) })
	cancel()
	sc.mu.Unlock()
	if upd != nil {
		writeMsg(sc.t, sc.c, ysync.AppendUpdate(nil, upd))
	}
}

func (sc *syncClient) text(name string) string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	x, err := sc.doc.GetText(name)
	if err != nil {
		sc.t.Fatal(err)
	}
	return x.String()
}

// waitFor polls cond until it holds or the test times out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func insertText(name string, index int, s string) func(tx *crdt.Txn, d *crdt.Doc) {
	return func(tx *crdt.Txn, d *crdt.Doc) {
		x, err := d.GetText(name)
		if err != nil {
			panic(err)
		}
		if err := x.Insert(tx, index, s, nil); err != nil {
			panic(err)
		}
	}
}

// serverText returns text name of workspace ws as the server's store has it.
func serverText(t *testing.T, store *engine.Store, ws, name string) string {
	t.Helper()
	ctx := context.Background()
	w, err := store.Workspace(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return docText(t, u, name)
}

func docText(t *testing.T, update []byte, name string) string {
	t.Helper()
	d := crdt.MustNewDoc(crdt.Options{ClientID: 999})
	if err := d.ApplyUpdate(update, nil); err != nil {
		t.Fatal(err)
	}
	x, err := d.GetText(name)
	if err != nil {
		t.Fatal(err)
	}
	return x.String()
}

// received returns the messages the client got so far.
func (sc *syncClient) received() []ysync.Message {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return append([]ysync.Message(nil), sc.msgs...)
}
