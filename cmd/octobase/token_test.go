package main

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"octobase/server"
)

// startServe runs serve in-process with args and returns its address; it
// is stopped when the test ends.
func startServe(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	r := &serveRunner{getenv: func(k string) string { return env[k] }}
	return startBackground(t, "serve", r, &r.ready, args...).addr
}

func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestTokenCreateAndServe creates tokens with the key file of a data
// directory and uses them against serve --auth on loopback.
func TestTokenCreateAndServe(t *testing.T) {
	dir := t.TempDir()
	r := mustRun(t, nil, "token", "create", "--data", dir, "--workspace", "notes", "--access", "read", "--ttl", "1h")
	read := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(read, "ob1.") {
		t.Fatalf("token = %q", r.stdout)
	}
	fi, err := os.Stat(filepath.Join(dir, server.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	write := strings.TrimSpace(mustRun(t, nil, "token", "create", "--data", dir, "--workspace", "*", "--access", "write").stdout)

	addr := startServe(t, nil, "--data", dir, "--addr", "127.0.0.1:0", "--auth")
	url := "http://" + addr + "/api/workspaces/notes/blocks"
	for tok, want := range map[string]int{"": 401, read: 200, write: 200, "ob1.bad.sig": 401} {
		if got := getStatus(t, url, tok); got != want {
			t.Errorf("GET with %q = %d, want %d", tok, got, want)
		}
	}
	if got := getStatus(t, "http://"+addr+"/api/workspaces/other/blocks", read); got != 403 {
		t.Errorf("other workspace = %d, want 403", got)
	}

	// token revoke: the running node refuses the token within its poll
	// (a second); the other token still works.
	rv := mustRun(t, nil, "token", "revoke", "--data", dir, read)
	if !strings.HasPrefix(rv.stdout, "revoked token ") || !strings.Contains(rv.stdout, `read access to "notes"`) {
		t.Fatalf("revoke printed %q", rv.stdout)
	}
	deadline := time.Now().Add(10 * time.Second)
	for getStatus(t, url, read) != 401 {
		if time.Now().After(deadline) {
			t.Fatal("the node still accepts a revoked token")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := getStatus(t, url, write); got != 200 {
		t.Errorf("the other token after a revocation = %d", got)
	}
	if r := runCLI(t, nil, "token", "revoke", "--data", t.TempDir(), write); r.code != exitError || !strings.Contains(r.stderr, "not a token of this node") {
		t.Errorf("revoking with another node's secret: exit %d, %s", r.code, r.stderr)
	}
}

// TestServeRequiresAuthOffLoopback: a non-loopback address turns auth on;
// --insecure-no-auth turns it off.
func TestServeRequiresAuthOffLoopback(t *testing.T) {
	env := map[string]string{envAuthSecret: "a secret of sufficient length"}
	addr := startServe(t, env, "--data", t.TempDir(), "--addr", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(addr)
	if got := getStatus(t, "http://127.0.0.1:"+port+"/api/workspaces/w/blocks", ""); got != 401 {
		t.Fatalf("without a token = %d, want 401", got)
	}
	tok := strings.TrimSpace(mustRun(t, nil, "token", "create", "--auth-secret", env[envAuthSecret], "--workspace", "w").stdout)
	if got := getStatus(t, "http://127.0.0.1:"+port+"/api/workspaces/w/blocks", tok); got != 200 {
		t.Fatalf("with a token = %d, want 200", got)
	}

	addr = startServe(t, nil, "--data", t.TempDir(), "--addr", "0.0.0.0:0", "--insecure-no-auth")
	_, port, _ = net.SplitHostPort(addr)
	if got := getStatus(t, "http://127.0.0.1:"+port+"/api/workspaces/w/blocks", ""); got != 200 {
		t.Fatalf("--insecure-no-auth = %d, want 200", got)
	}
}

func TestTokenCreateUsage(t *testing.T) {
	for _, args := range [][]string{
		{"token", "create"},
		{"token", "create", "--workspace", "w", "--access", "admin"},
		{"token", "create", "--workspace", "w", "--ttl", "-1h"},
		{"token", "create", "--workspace", "w", "--auth-secret", "short"},
	} {
		args = append(args, "--data", t.TempDir())
		if r := runCLI(t, nil, args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}
