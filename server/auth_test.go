package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newTestAuth(t *testing.T) *Auth {
	t.Helper()
	a, err := NewAuth(testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func issue(t *testing.T, a *Auth, ws string, acc Access, ttl time.Duration) string {
	t.Helper()
	tok, err := a.Issue(ws, acc, time.Now().Add(ttl))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTokens(t *testing.T) {
	a := newTestAuth(t)
	tok := issue(t, a, "notes", AccessRead, time.Hour)
	c, err := a.Verify(tok)
	if err != nil || c.Workspace != "notes" || c.Access != AccessRead {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if !c.Allows("notes", AccessRead) || c.Allows("notes", AccessWrite) || c.Allows("other", AccessRead) {
		t.Fatal("Allows is wrong")
	}
	all := issue(t, a, AllWorkspaces, AccessWrite, time.Hour)
	if c, err := a.Verify(all); err != nil || !c.Allows("anything", AccessWrite) {
		t.Fatalf("* token = %+v, %v", c, err)
	}
	if _, err := a.Verify(issue(t, a, "notes", AccessWrite, -time.Second)); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	other, _ := NewAuth([]byte("another secret of enough length"), nil)
	if _, err := other.Verify(tok); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token of another secret: %v", err)
	}
	// Any changed byte invalidates the token.
	for i := len(tokenPrefix); i < len(tok); i++ {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		if _, err := a.Verify(string(b)); err == nil {
			t.Fatalf("token changed at %d verifies", i)
		}
	}
	// The signature's last character carries unused bits: a spelling with
	// them set decodes to the same bytes, and is refused all the same.
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, tok[len(tok)-1])
	aliases := 0
	for v := range 64 {
		alias := tok[:len(tok)-1] + alphabet[v:v+1]
		if v == last {
			continue
		}
		if got, err := base64.RawURLEncoding.DecodeString(alias[dot+1:]); err != nil || !bytes.Equal(got, sig) {
			continue // another signature, not an alias
		}
		aliases++
		if _, err := a.Verify(alias); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("an alias spelling of the signature verifies: %v", err)
		}
	}
	if aliases != 3 { // 32 bytes in 43 characters: the last one has 2 unused bits
		t.Fatalf("%d alias spellings of the signature, want 3", aliases)
	}
	for _, bad := range []string{"", "ob1.", "ob1..", "xyz", tokenPrefix + "e30.", strings.Repeat("a", 5000)} {
		if _, err := a.Verify(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Verify(%q) = %v", bad, err)
		}
	}
	if _, err := NewAuth([]byte("short"), nil); err == nil {
		t.Error("short secret accepted")
	}
	if _, err := a.Issue("", AccessRead, time.Now()); err == nil {
		t.Error("empty workspace accepted")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", KeyFile)
	k1, err := LoadOrCreateKey(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create = %x, %v", k1, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil || string(k1) != string(k2) {
		t.Fatal("key changed on reload")
	}
	if err := os.WriteFile(path, []byte("zz"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("bad key file accepted")
	}
}

func TestHTTPAuth(t *testing.T) {
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	read := issue(t, a, "w", AccessRead, time.Hour)
	write := issue(t, a, "w", AccessWrite, time.Hour)
	other := issue(t, a, "x", AccessWrite, time.Hour)
	expired := issue(t, a, "w", AccessWrite, -time.Minute)
	all := issue(t, a, AllWorkspaces, AccessRead, time.Hour)
	blocks := e.hs.URL + "/api/workspaces/w/blocks"
	nb := map[string]any{"flavour": "affine:page", "id": "b"}

	do(t, "GET", blocks, "", nil).wantError(t, 401, codeUnauthorized)
	do(t, "GET", blocks, "garbage", nil).wantError(t, 401, codeUnauthorized)
	do(t, "GET", blocks, expired, nil).wantError(t, 401, codeUnauthorized)
	do(t, "GET", blocks, other, nil).wantError(t, 403, codeForbidden)
	do(t, "POST", blocks, read, nb).wantError(t, 403, codeForbidden)
	do(t, "POST", e.hs.URL+"/api/workspaces/w/update", read, []byte{0, 0}).wantError(t, 403, codeForbidden)
	if r := do(t, "POST", blocks, write, nb); r.status != 201 {
		t.Fatalf("write token create = %d %s", r.status, r.body)
	}
	for _, tok := range []string{read, write, all} {
		if r := do(t, "GET", blocks+"/b", tok, nil); r.status != 200 {
			t.Fatalf("read = %d %s", r.status, r.body)
		}
	}
	// The token query parameter works where headers cannot be set
	// (EventSource).
	if r := do(t, "GET", blocks+"?token="+read, "", nil); r.status != 200 {
		t.Fatalf("?token= = %d %s", r.status, r.body)
	}
	openSSE(t, e.hs.URL+"/api/workspaces/w/changes?token="+read, "", "")
	r := do(t, "GET", blocks, "", nil)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// A query needs read access to the workspace it reads.
	q := map[string]any{"workspace": "w", "query": "SELECT id FROM blocks"}
	do(t, "POST", e.hs.URL+"/api/query", "", q).wantError(t, 401, codeUnauthorized)
	do(t, "POST", e.hs.URL+"/api/query", other, q).wantError(t, 403, codeForbidden)
	if r := do(t, "POST", e.hs.URL+"/api/query", read, q); r.status != 200 {
		t.Fatalf("query = %d %s", r.status, r.body)
	}
	do(t, "GET", e.hs.URL+"/api/workspaces/w/changes", other, nil).wantError(t, 403, codeForbidden)
	// /metrics needs a token for every workspace; /healthz none.
	do(t, "GET", e.hs.URL+"/metrics", read, nil).wantError(t, 403, codeForbidden)
	if r := do(t, "GET", e.hs.URL+"/metrics", all, nil); r.status != 200 {
		t.Fatalf("metrics = %d", r.status)
	}
	if r := do(t, "GET", e.hs.URL+"/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz = %d", r.status)
	}
}

// wsClosed reads from c until it fails and returns the close status.
func wsClosed(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			t.Fatalf("read ended with %v, want a close frame", err)
		}
	}
}

func TestWebSocketAuth(t *testing.T) {
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	write := issue(t, a, "w", AccessWrite, time.Hour)
	for name, tc := range map[string]struct {
		query string
		code  websocket.StatusCode
	}{
		"missing":   {"", statusUnauthorized},
		"invalid":   {"?token=ob1.x.y", statusUnauthorized},
		"expired":   {"?token=" + issue(t, a, "w", AccessWrite, -time.Minute), statusUnauthorized},
		"workspace": {"?token=" + issue(t, a, "x", AccessWrite, time.Hour), statusForbidden},
	} {
		c := dial(t, e.wsURL("w")+tc.query, nil)
		if code, reason := wsClosed(t, c); code != tc.code || reason == "" {
			t.Errorf("%s token: close %d %q, want %d", name, code, reason, tc.code)
		}
	}
	// A write token syncs both ways.
	wc := newSyncClient(t, e.wsURL("w")+"?token="+write, 1)
	wc.edit(insertText("t", 0, "ok"))
	waitFor(t, "the write to persist", func() bool { return serverText(t, e.store, "w", "t") == "ok" })
}

// TestReadOnlyConnection checks a read-only token syncs down, and that its
// updates are refused with a permission-denied message and change nothing.
func TestReadOnlyConnection(t *testing.T) {
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	ctx := context.Background()
	writer := newSyncClient(t, e.wsURL("ro")+"?token="+issue(t, a, "ro", AccessWrite, time.Hour), 1)
	writer.edit(insertText("t", 0, "base"))
	waitFor(t, "the base text", func() bool { return serverText(t, e.store, "ro", "t") == "base" })

	ro := dial(t, e.wsURL("ro")+"?token="+issue(t, a, "ro", AccessRead, time.Hour), nil)
	if _, ok := readMsg(t, ro).(ysync.SyncStep1); !ok {
		t.Fatal("want SyncStep1")
	}
	doc := crdt.MustNewDoc(crdt.Options{ClientID: 50})
	writeMsg(t, ro, ysync.Step1(doc))
	step2, ok := readMsg(t, ro).(ysync.SyncStep2)
	if !ok {
		t.Fatal("want SyncStep2")
	}
	if got := docText(t, step2.Update, "t"); got != "base" {
		t.Fatalf("read-only client synced %q", got)
	}
	ws, _ := e.store.Workspace(ctx, "ro")
	before, _ := ws.LastLSN(ctx)

	writeMsg(t, ro, ysync.AppendUpdate(nil, docUpdates(50, "t", 1)[0]))
	if m, ok := readMsg(t, ro).(ysync.AuthDenied); !ok || m.Reason == "" {
		t.Fatalf("reply to a read-only write = %v, want permission denied", m)
	}
	// Updates from others still reach it.
	writer.edit(insertText("t", 4, "!"))
	if m, ok := readMsg(t, ro).(ysync.Update); !ok {
		t.Fatalf("read-only client got %v, want the writer's update", m)
	}
	after, _ := ws.LastLSN(ctx)
	if after != before+1 {
		t.Fatalf("LSN %d -> %d: the refused update was logged", before, after)
	}
	if got := serverText(t, e.store, "ro", "t"); got != "base!" {
		t.Fatalf("server text = %q", got)
	}
}

// TestTokenExpiryEndsConnections: a WebSocket connection and an SSE stream
// opened with a token end when the token expires (4401; an error event),
// not only the handshakes after it.
func TestTokenExpiryEndsConnections(t *testing.T) {
	a := newTestAuth(t)
	e := startServer(t, t.TempDir(), Options{Auth: a})
	tok := issue(t, a, "w", AccessWrite, 4*time.Second) // expires within 3–4 s (whole seconds)
	start := time.Now()

	c := dial(t, e.wsURL("w")+"?token="+tok, nil)
	wsDone := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				wsDone <- err
				return
			}
		}
	}()

	req, err := http.NewRequest("GET", e.hs.URL+"/api/workspaces/w/changes", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SSE = %d", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body) // the server ends the stream
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "event: error\ndata: {\"error\":\"unauthorized\",\"message\":\"token expired\"}") {
		t.Fatalf("SSE stream ended with %q", body)
	}
	select {
	case err := <-wsDone:
		if websocket.CloseStatus(err) != statusUnauthorized {
			t.Fatalf("WebSocket ended with %v, want 4401", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the WebSocket connection outlived its token")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("ended after %v", d)
	}
}
