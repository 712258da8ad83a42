package server

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/replication/ysync"
)

// stored is what a workspace holds: its last LSN and encoded state.
type stored struct {
	lsn   oplog.LSN
	state []byte
}

func storedState(t *testing.T, e *testEnv, name string) stored {
	t.Helper()
	ctx := context.Background()
	ws, err := e.store.Workspace(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	lsn, err := ws.LastLSN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := ws.EncodeStateAsUpdate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return stored{lsn, u}
}

func (a stored) equal(b stored) bool { return a.lsn == b.lsn && bytes.Equal(a.state, b.state) }

// hugeVarUint is a lib0 varUint of 2^40, a length no message can back.
var hugeVarUint = []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x20}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestHostileWebSocketInput sends each kind of bad input on its own
// connection while a well-behaved client keeps editing the same workspace:
// the bad connection is closed with the documented code and a reason,
// nothing is stored, and the other client is not disturbed.
func TestHostileWebSocketInput(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{MaxMessageSize: 1 << 16})
	const ws = "hostile"
	good := newSyncClient(t, e.wsURL(ws), 1)
	good.edit(insertText("t", 0, "a"))
	waitFor(t, "the first edit", func() bool { return serverText(t, e.store, ws, "t") == "a" })

	cases := []struct {
		name string
		msg  []byte
		text bool
		code websocket.StatusCode
	}{
		{"truncated varUint", []byte{0xff, 0xff}, false, statusMalformed},
		{"empty frame", []byte{}, false, statusMalformed},
		{"unknown sync type", []byte{0, 9, 1, 0}, false, statusMalformed},
		{"undecodable update", []byte{0, 2, 3, 0xff, 0xff, 1}, false, statusMalformed},
		{"truncated awareness", []byte{1, 5, 1, 2}, false, statusMalformed},
		{"huge update length", cat([]byte{0, 2}, hugeVarUint, []byte{1, 2, 3}), false, statusMalformed},
		{"huge step 1 length", cat([]byte{0, 0}, hugeVarUint), false, statusMalformed},
		{"huge struct count", cat([]byte{0, 2, 7}, hugeVarUint, []byte{0}), false, statusMalformed},
		{"huge awareness count", cat([]byte{1, 7}, hugeVarUint), false, statusMalformed},
		{"unknown message type", []byte{7, 1, 2}, false, statusUnsupported},
		{"text frame", []byte("hello"), true, statusUnsupported},
		{"over the size limit", make([]byte, 1<<17), false, websocket.StatusMessageTooBig},
	}
	for i, tc := range cases {
		before := storedState(t, e, ws)
		c := dial(t, e.wsURL(ws), nil)
		readMsg(t, c) // step 1
		typ := websocket.MessageBinary
		if tc.text {
			typ = websocket.MessageText
		}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		err := c.Write(ctx, typ, tc.msg)
		cancel()
		if err != nil {
			t.Fatalf("%s: write: %v", tc.name, err)
		}
		if code, reason := wsClosed(t, c); code != tc.code || reason == "" {
			t.Errorf("%s: close %d %q, want %d with a reason", tc.name, code, reason, tc.code)
		}
		if after := storedState(t, e, ws); !after.equal(before) {
			t.Errorf("%s: stored state changed (LSN %d -> %d)", tc.name, before.lsn, after.lsn)
		}
		// The good client keeps working.
		good.edit(insertText("t", 0, "b"))
		want := len("a") + i + 1
		waitFor(t, "the good client's edit after "+tc.name, func() bool {
			return len(serverText(t, e.store, ws, "t")) == want && len(good.text("t")) == want
		})
	}

	// An auth message from a client is ignored: the connection stays.
	c := dial(t, e.wsURL(ws), nil)
	readMsg(t, c)
	writeMsg(t, c, ysync.AppendAuthDenied(nil, "x"))
	writeMsg(t, c, ysync.Step1(crdt.MustNewDoc(crdt.Options{ClientID: 5})))
	for {
		if _, ok := readMsg(t, c).(ysync.SyncStep2); ok {
			break
		}
	}
}

// TestMissingDependencies: an update that depends on changes the server
// does not have is not stored (not even as pending); the connection stays
// open and is sent the server's SyncStep1, which a y-protocols client
// answers with the missing changes; others are served meanwhile. Over
// HTTP the same update gets 409.
func TestMissingDependencies(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	const ws = "missing"
	good := newSyncClient(t, e.wsURL(ws), 1)
	good.edit(insertText("t", 0, "ok"))
	waitFor(t, "the first edit", func() bool { return serverText(t, e.store, ws, "t") == "ok" })

	ups := docUpdates(77, "u", 2) // the second references the first's item
	c := dial(t, e.wsURL(ws), nil)
	readMsg(t, c) // the server's SyncStep1 of the handshake
	before := storedState(t, e, ws)
	writeMsg(t, c, ysync.AppendUpdate(nil, ups[1]))
	for asked := false; !asked; {
		_, asked = readMsg(t, c).(ysync.SyncStep1)
	}
	if after := storedState(t, e, ws); !after.equal(before) {
		t.Fatal("an update with missing dependencies changed the stored state")
	}
	good.edit(insertText("t", 2, "!"))
	waitFor(t, "the good edit", func() bool { return serverText(t, e.store, ws, "t") == "ok!" })
	// The connection is still served: the missing change, then the
	// refused one again (what the client's SyncStep2 would carry).
	writeMsg(t, c, ysync.AppendUpdate(nil, ups[0]))
	writeMsg(t, c, ysync.AppendUpdate(nil, ups[1]))
	waitFor(t, "both updates to integrate", func() bool { return serverText(t, e.store, ws, "u") == "xx" })

	ups = docUpdates(78, "v", 2)
	url := e.hs.URL + "/api/workspaces/" + ws + "/update"
	before = storedState(t, e, ws)
	do(t, "POST", url, "", ups[1]).wantError(t, 409, codeMissingDeps)
	if after := storedState(t, e, ws); !after.equal(before) {
		t.Fatal("HTTP: an update with missing dependencies changed the stored state")
	}
}

// TestHostileHTTPInput: malformed updates and huge length prefixes over
// HTTP answer 400 and store nothing.
func TestHostileHTTPInput(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	url := e.hs.URL + "/api/workspaces/h/update"
	if r := do(t, "POST", url, "", docUpdates(1, "t", 1)[0]); r.status != 200 {
		t.Fatal(r.status)
	}
	before := storedState(t, e, "h")
	for name, body := range map[string][]byte{
		"garbage":          []byte("\x01\x05garbage"),
		"huge count":       cat(hugeVarUint, []byte{0}),
		"huge struct list": cat([]byte{1}, hugeVarUint, []byte{1, 0}),
		"truncated":        docUpdates(2, "t", 1)[0][:5],
	} {
		do(t, "POST", url, "", body).wantError(t, 400, codeMalformed)
		if after := storedState(t, e, "h"); !after.equal(before) {
			t.Errorf("%s: stored state changed", name)
		}
	}
}

// TestHostileTokens: an expired token and a read-only token trying to
// write, over WebSocket and HTTP, are refused and store nothing; a writer
// with a good token keeps working.
func TestHostileTokens(t *testing.T) {
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	const ws = "tok"
	good := newSyncClient(t, e.wsURL(ws)+"?token="+issue(t, a, ws, AccessWrite, time.Hour), 1)
	good.edit(insertText("t", 0, "a"))
	waitFor(t, "the first edit", func() bool { return serverText(t, e.store, ws, "t") == "a" })
	before := storedState(t, e, ws)
	upd := docUpdates(9, "evil", 1)[0]

	expired := issue(t, a, ws, AccessWrite, -time.Second)
	c := dial(t, e.wsURL(ws)+"?token="+expired, nil)
	// Whatever it sends before the close is not read.
	_ = c.Write(context.Background(), websocket.MessageBinary, ysync.AppendUpdate(nil, upd))
	if code, _ := wsClosed(t, c); code != statusUnauthorized {
		t.Errorf("expired token: close %d, want 4401", code)
	}
	do(t, "POST", e.hs.URL+"/api/workspaces/tok/update", expired, upd).wantError(t, 401, codeUnauthorized)

	read := issue(t, a, ws, AccessRead, time.Hour)
	ro := dial(t, e.wsURL(ws)+"?token="+read, nil)
	readMsg(t, ro)
	for _, m := range [][]byte{ysync.AppendUpdate(nil, upd), ysync.AppendSyncStep2(nil, upd)} {
		writeMsg(t, ro, m)
		for {
			msg := readMsg(t, ro)
			if _, ok := msg.(ysync.AuthDenied); ok {
				break
			}
		}
	}
	do(t, "POST", e.hs.URL+"/api/workspaces/tok/update", read, upd).wantError(t, 403, codeForbidden)
	do(t, "POST", e.hs.URL+"/api/workspaces/tok/blocks", read, map[string]any{"flavour": "x"}).wantError(t, 403, codeForbidden)
	if after := storedState(t, e, ws); !after.equal(before) {
		t.Fatalf("stored state changed (LSN %d -> %d)", before.lsn, after.lsn)
	}
	good.edit(insertText("t", 1, "b"))
	waitFor(t, "the good client", func() bool { return serverText(t, e.store, ws, "t") == "ab" })
}
