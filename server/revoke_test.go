package server

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestRevokeUnit(t *testing.T) {
	a := newTestAuth(t)
	tok := issue(t, a, "w", AccessRead, time.Hour)
	other := issue(t, a, "w", AccessRead, time.Hour)
	c, err := a.Verify(tok)
	if err != nil || len(c.ID) != 11 {
		t.Fatalf("claims %+v, %v", c, err)
	}
	if o, _ := a.Verify(other); o.ID == c.ID {
		t.Fatal("two tokens share an id")
	}
	a.Revoke(c.ID, c.Expires)
	if _, err := a.Verify(tok); !errors.Is(err, ErrTokenRevoked) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := a.Verify(other); err != nil {
		t.Fatalf("the other token: %v", err)
	}
	a.SetRevoked(nil)
	if _, err := a.Verify(tok); err != nil {
		t.Fatalf("after clearing: %v", err)
	}

	path := filepath.Join(t.TempDir(), RevokedFile)
	if ids, err := LoadRevoked(path, time.Now()); err != nil || len(ids) != 0 {
		t.Fatalf("missing file: %v, %v", ids, err)
	}
	now := time.Unix(1_800_000_000, 0)
	if err := RevokeToken(path, "live", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(path, "old", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(path, "bad id", now); err == nil {
		t.Fatal("an id with a space was accepted")
	}
	ids, err := LoadRevoked(path, now)
	if err != nil || len(ids) != 1 || !ids["live"].Equal(now.Add(time.Hour)) {
		t.Fatalf("loaded %v, %v", ids, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	os.WriteFile(path, []byte("live 123\nnonsense\n"), 0o600)
	if _, err := LoadRevoked(path, now); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("malformed line: %v", err)
	}
}

// TestRevokeLive: a token revoked in the server's revocation file is
// refused from then on, and what it opened closes (WebSocket 4401 "token
// revoked", SSE error event); another token is not affected.
func TestRevokeLive(t *testing.T) {
	a := newTestAuth(t)
	file := filepath.Join(t.TempDir(), RevokedFile)
	e := startServer(t, t.TempDir(), Options{Auth: a, RevokedFile: file, RevokedPoll: 20 * time.Millisecond})
	tok := issue(t, a, "w", AccessWrite, time.Hour)
	keep := issue(t, a, "w", AccessWrite, time.Hour)
	claims, err := a.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}

	readUntilEnd := func(c *websocket.Conn) chan error {
		done := make(chan error, 1)
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					done <- err
					return
				}
			}
		}()
		return done
	}
	revokedWS := readUntilEnd(dial(t, e.wsURL("w")+"?token="+tok, nil))
	keptWS := readUntilEnd(dial(t, e.wsURL("w")+"?token="+keep, nil))

	req, _ := http.NewRequest("GET", e.hs.URL+"/api/workspaces/w/changes", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sse := bufio.NewReader(resp.Body)
	if line, err := sse.ReadString('\n'); err != nil || line != ": ok\n" {
		t.Fatalf("SSE opened with %q, %v", line, err)
	}

	if err := RevokeToken(file, claims.ID, claims.Expires); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-revokedWS:
		if websocket.CloseStatus(err) != statusUnauthorized || !strings.Contains(err.Error(), "token revoked") {
			t.Fatalf("revoked WebSocket ended with %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the WebSocket of a revoked token stayed open")
	}
	rest, _ := readAllString(sse)
	if !strings.Contains(rest, `"message":"token revoked"`) {
		t.Fatalf("SSE stream ended with %q", rest)
	}
	do(t, "GET", e.hs.URL+"/api/workspaces/w/blocks", tok, nil).wantError(t, 401, codeUnauthorized)
	if r := do(t, "GET", e.hs.URL+"/api/workspaces/w/blocks", keep, nil); r.status != 200 {
		t.Fatalf("the other token: %d %s", r.status, r.body)
	}
	select {
	case err := <-keptWS:
		t.Fatalf("the other token's WebSocket ended: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func readAllString(r *bufio.Reader) (string, error) {
	var b strings.Builder
	_, err := r.WriteTo(&b)
	return b.String(), err
}
