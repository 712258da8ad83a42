package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

func TestSyncHandshake(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	c := dial(t, e.wsURL("hs"), nil)

	// The server opens with its SyncStep1 (an empty document).
	if m, ok := readMsg(t, c).(ysync.SyncStep1); !ok || len(m.SV) != 0 {
		t.Fatalf("first message = %v, want an empty SyncStep1", m)
	}
	doc := crdt.MustNewDoc(crdt.Options{ClientID: 7})
	writeMsg(t, c, ysync.Step1(doc))
	if m, ok := readMsg(t, c).(ysync.SyncStep2); !ok {
		t.Fatalf("reply to SyncStep1 = %v, want SyncStep2", m)
	}

	// An update is persisted and echoed to its sender.
	var upd []byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { upd = append([]byte(nil), u...) })
	doc.Transact(nil, func(tx *crdt.Txn) { insertText("t", 0, "abc")(tx, doc) })
	writeMsg(t, c, ysync.AppendUpdate(nil, upd))
	m, ok := readMsg(t, c).(ysync.Update)
	if !ok || !bytes.Equal(m.Update, upd) {
		t.Fatalf("broadcast = %v, want the update", m)
	}
	if got := serverText(t, e.store, "hs", "t"); got != "abc" {
		t.Fatalf("server text = %q", got)
	}
}

func TestSubprotocolSelected(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	c := dial(t, e.wsURL("sp"), &websocket.DialOptions{Subprotocols: []string{"yjs", "other"}})
	if got := c.Subprotocol(); got != "yjs" {
		t.Fatalf("subprotocol = %q, want yjs", got)
	}
}

func TestTwoClientsConverge(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	a := newSyncClient(t, e.wsURL("two"), 1)
	b := newSyncClient(t, e.wsURL("two"), 2)
	a.edit(insertText("t", 0, "hello"))
	waitFor(t, "b to see a's edit", func() bool { return b.text("t") == "hello" })
	b.edit(insertText("t", 5, " world"))
	waitFor(t, "a to see b's edit", func() bool { return a.text("t") == "hello world" })
	if got := serverText(t, e.store, "two", "t"); got != "hello world" {
		t.Fatalf("server text = %q", got)
	}
	// A late joiner gets everything through the initial sync.
	c := newSyncClient(t, e.wsURL("two"), 3)
	waitFor(t, "c to sync", func() bool { return c.text("t") == "hello world" })
}

func TestAwarenessRelay(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	a := dial(t, e.wsURL("aw"), nil)
	readMsg(t, a) // step 1
	upd := ysync.EncodeAwarenessUpdate([]ysync.AwarenessEntry{{ClientID: 42, Clock: 1, State: `{"user":"a"}`}})
	writeMsg(t, a, ysync.AppendAwareness(nil, upd))
	if m, ok := readMsg(t, a).(ysync.AwarenessUpdate); !ok {
		t.Fatalf("a got %v, want its awareness echoed", m)
	}

	// A new connection gets step 1 and then every awareness state.
	b := dial(t, e.wsURL("aw"), nil)
	readMsg(t, b)
	m, ok := readMsg(t, b).(ysync.AwarenessUpdate)
	if !ok {
		t.Fatalf("b got %v, want awareness states", m)
	}
	entries, err := ysync.DecodeAwarenessUpdate(m.Update)
	if err != nil || len(entries) != 1 || entries[0].ClientID != 42 {
		t.Fatalf("b's awareness = %+v, %v", entries, err)
	}

	// When a leaves, b learns that client 42 is gone.
	a.Close(websocket.StatusNormalClosure, "")
	m, ok = readMsg(t, b).(ysync.AwarenessUpdate)
	if !ok {
		t.Fatalf("b got %v, want a removal", m)
	}
	entries, err = ysync.DecodeAwarenessUpdate(m.Update)
	if err != nil || len(entries) != 1 || entries[0].ClientID != 42 || entries[0].State != "null" {
		t.Fatalf("removal = %+v, %v", entries, err)
	}
}

func TestMessageTooBig(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxMessageSize: 1024})
	c := dial(t, e.wsURL("big"), nil)
	readMsg(t, c)
	writeMsg(t, c, make([]byte, 4096))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Fatalf("close status = %v (%v), want 1009", got, err)
	}
}

func TestSlowClientDisconnected(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{SendQueue: 2})
	slow := dial(t, e.wsURL("slow"), nil) // does not read until the end
	fast := newSyncClient(t, e.wsURL("slow"), 1)
	// Big updates fill the slow client's socket buffers, then its queue.
	// The fast client waits for the echo of each edit before the next, so
	// its own queue never holds more than one: only the slow one fills.
	waitFor(t, "the fast client's sync (the server's SyncStep1 and SyncStep2)", func() bool { return len(fast.received()) >= 2 })
	chunk := strings.Repeat("x", 256<<10)
	for i := 0; i < 64 && e.srv.overflows.Load() == 0; i++ {
		n := len(fast.received())
		fast.edit(insertText("t", 0, chunk))
		waitFor(t, "the echo of the fast client's edit", func() bool { return len(fast.received()) > n })
	}
	if n := e.srv.overflows.Load(); n != 1 {
		t.Fatalf("overflows = %d, want 1 (the slow client)", n)
	}
	// The slow client is closed: with 1013 if the close frame got through
	// its full buffers in time, else the connection just ends.
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = slow.Read(ctx)
	}
	if got := websocket.CloseStatus(err); got != websocket.StatusTryAgainLater && got != -1 || ctx.Err() != nil {
		t.Fatalf("slow client read ended with %v, want status 1013 or a closed connection", err)
	}
	// The fast client was not held up.
	fast.edit(insertText("t", 0, "!"))
	waitFor(t, "the fast client to get its updates", func() bool { return strings.HasPrefix(fast.text("t"), "!") })
}

func TestHTTPUpdateRoundTrip(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	watcher := newSyncClient(t, e.wsURL("api"), 5)

	doc := crdt.MustNewDoc(crdt.Options{ClientID: 1})
	var upd []byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { upd = append([]byte(nil), u...) })
	doc.Transact(nil, func(tx *crdt.Txn) { insertText("t", 0, "posted")(tx, doc) })

	url := e.hs.URL + "/api/workspaces/api/update"
	resp, err := http.Post(url, "application/octet-stream", bytes.NewReader(upd))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"lsn"`) {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	// Broadcast to WebSocket clients.
	waitFor(t, "the WebSocket client to get the POSTed update", func() bool { return watcher.text("t") == "posted" })

	// GET returns the full state.
	full := httpGet(t, url, 200)
	if got := docText(t, full, "t"); got != "posted" {
		t.Fatalf("GET state text = %q", got)
	}
	// GET with the full state vector returns nothing new.
	sv := base64.StdEncoding.EncodeToString(crdt.EncodeStateVector(doc.StateVector()))
	diff := httpGet(t, url+"?sv="+sv, 200)
	d2 := crdt.MustNewDoc(crdt.Options{ClientID: 3})
	if err := d2.ApplyUpdate(diff, nil); err != nil {
		t.Fatal(err)
	}
	if x, _ := d2.GetText("t"); x.String() != "" {
		t.Fatalf("diff against the full sv holds %q", x.String())
	}

	// Malformed input: 400 with a JSON error.
	resp, err = http.Post(url, "application/octet-stream", strings.NewReader("\x01\x05garbage"))
	if err != nil {
		t.Fatal(err)
	}
	var jerr struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&jerr); err != nil || resp.StatusCode != 400 || jerr.Error == "" {
		t.Fatalf("malformed POST = %d %+v %v", resp.StatusCode, jerr, err)
	}
	resp.Body.Close()
	httpGet(t, url+"?sv=!!!", 400)
	httpGet(t, e.hs.URL+"/healthz", 200)
	httpGet(t, e.hs.URL+"/sync/api", http.StatusUpgradeRequired)
}

func TestHTTPBodyTooLarge(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxMessageSize: 16})
	resp, err := http.Post(e.hs.URL+"/api/workspaces/w/update", "application/octet-stream", bytes.NewReader(make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", resp.StatusCode)
	}
}

func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := startServer(t, dir, Options{})
	a := newSyncClient(t, e.wsURL("keep"), 1)
	a.edit(insertText("t", 0, "durable"))
	waitFor(t, "the server to persist", func() bool { return serverText(t, e.store, "keep", "t") == "durable" })
	a.c.Close(websocket.StatusNormalClosure, "")
	e.stop()

	e2 := startServer(t, dir, Options{})
	full := httpGet(t, e2.hs.URL+"/api/workspaces/keep/update", 200)
	if got := docText(t, full, "t"); got != "durable" {
		t.Fatalf("after restart text = %q", got)
	}
	b := newSyncClient(t, e2.wsURL("keep"), 2)
	waitFor(t, "a new client to sync", func() bool { return b.text("t") == "durable" })
}

func httpGet(t *testing.T, url string, status int) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("GET %s = %d %s, want %d", url, resp.StatusCode, b, status)
	}
	return b
}
