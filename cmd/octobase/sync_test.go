package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/replication/peer"
)

// syncStoreDir makes a store directory holding one block per workspace
// named in blocks (workspace → block id).
func syncStoreDir(t *testing.T, blocks map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	s, err := engine.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for ws, id := range blocks {
		w, err := s.Workspace(context.Background(), ws)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Transact(context.Background(), "test", func(_ *crdt.Txn, b *engine.Blocks) error {
			_, err := b.Create(engine.NewBlock{ID: engine.BlockID(id), Flavour: "affine:paragraph"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// syncStoreState returns, per workspace of the store in dir, its state
// vector and encoded state.
func syncStoreState(t *testing.T, dir string) map[string]string {
	t.Helper()
	s, err := engine.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, err := s.Workspaces()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		w, err := s.Workspace(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		sv, err := w.StateVector(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		u, err := w.EncodeStateAsUpdate(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = string(sv) + "|" + string(u)
	}
	return out
}

func TestSyncCommandListenConnect(t *testing.T) {
	dirA := syncStoreDir(t, map[string]string{"alpha": "a1", "beta": "a2"})
	dirB := syncStoreDir(t, map[string]string{"alpha": "b1", "gamma": "b2"})
	dirC := syncStoreDir(t, map[string]string{"delta": "c1"})

	env := map[string]string{envData: dirA}
	r := &syncRunner{getenv: func(k string) string { return env[k] }}
	listener := startBackground(t, "sync --listen", r, &r.ready, "--listen", "127.0.0.1:0", "--name", "A")
	addr, stderr := listener.addr, listener.stderr

	// B syncs everything; C only alpha.
	res := mustRun(t, nil, "sync", "--data", dirB, "--connect", addr, "--name", "B")
	if !strings.Contains(res.stderr, "sync: in sync with A (") || !strings.Contains(res.stderr, "3 workspace(s) [alpha beta gamma]") ||
		!strings.Contains(res.stderr, "sync: done: ") || !strings.Contains(res.stderr, "bytes sent") {
		t.Errorf("connect B: stderr %q", res.stderr)
	}
	res = mustRun(t, nil, "sync", "--data", dirC, "--connect", addr, "-w", "alpha", "--name", "C")
	if !strings.Contains(res.stderr, "1 workspace(s) [alpha]") {
		t.Errorf("connect C: stderr %q", res.stderr)
	}
	if err := listener.stop(); err != nil {
		t.Fatalf("sync --listen: %v", err)
	}
	for _, want := range []string{"sync: listening on 127.0.0.1:", "in sync with B:", "in sync with C:", "session with B (", "sync: stopped"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("listener stderr lacks %q:\n%s", want, stderr.String())
		}
	}

	a, b, c := syncStoreState(t, dirA), syncStoreState(t, dirB), syncStoreState(t, dirC)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("A has %d workspaces, B %d; want 3", len(a), len(b))
	}
	for ws, st := range a {
		if b[ws] != st {
			t.Errorf("workspace %s differs between A and B", ws)
		}
	}
	if len(c) != 2 || c["alpha"] != a["alpha"] || c["delta"] == "" {
		t.Errorf("C: %d workspaces, alpha synced %v", len(c), c["alpha"] == a["alpha"])
	}
}

// TestSyncCommandStdio runs `sync --stdio` in-process with its stdin and
// stdout piped to a peer.Sync in the test.
func TestSyncCommandStdio(t *testing.T) {
	dirA := syncStoreDir(t, map[string]string{"alpha": "a1"})
	dirB := syncStoreDir(t, map[string]string{"alpha": "b1", "beta": "b2"})

	inR, inW := io.Pipe()   // the command's stdin
	outR, outW := io.Pipe() // the command's stdout
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"sync", "--data", dirA, "--stdio", "--name", "A"}, inR, outW, &stderr)
	}()
	sb, err := engine.Open(dirB, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := peer.Sync(ctx, sb, peer.NewStream(outR, inW), &peer.Options{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	if c := <-code; c != exitOK {
		t.Fatalf("sync --stdio: exit %d: %s", c, stderr.String())
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Remote != "A" || !st.Synced {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(stderr.String(), "sync: in sync with B (stdio): 2 workspace(s) [alpha beta]") {
		t.Errorf("stderr %q", stderr.String())
	}
	a, b := syncStoreState(t, dirA), syncStoreState(t, dirB)
	if len(a) != 2 || a["alpha"] != b["alpha"] || a["beta"] != b["beta"] {
		t.Errorf("stores differ after sync --stdio")
	}
}

func TestSyncCommandUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"sync", "--data", dir}, "give exactly one of --listen, --connect and --stdio", exitUsage},
		{[]string{"sync", "--data", dir, "--stdio", "--connect", "127.0.0.1:1"}, "give exactly one of", exitUsage},
		{[]string{"sync", "--data", dir, "--listen", "127.0.0.1:0", "--follow"}, "--follow applies to --connect and --stdio", exitUsage},
		{[]string{"sync", "--data", dir, "--listen", "0.0.0.0:0"}, "not a loopback address", exitError},
		{[]string{"sync", "--data", dir, "--stdio", "extra"}, `unexpected argument "extra"`, exitUsage},
		{[]string{"sync", "--data", dir, "--connect", "127.0.0.1:1"}, "octobase: sync: sync with 127.0.0.1:1:", exitError},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
}

func TestSyncHelp(t *testing.T) {
	r := mustRun(t, nil, "help", "sync")
	for _, want := range []string{"--listen ADDR", "--connect ADDR", "--stdio", "--follow", "--workspace WORKSPACE", "--w WORKSPACE", "OCTOBASE_DATA", "docs/p2p.md"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help sync lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestSyncCommandFollowReconnects runs `sync --connect --follow` against a
// listener that goes away and comes back: the command reconnects and syncs
// again, and exits cleanly when interrupted.
func TestSyncCommandFollowReconnects(t *testing.T) {
	dirA := syncStoreDir(t, map[string]string{"alpha": "a1"})
	dirB := syncStoreDir(t, map[string]string{"alpha": "b1"})
	sa, err := engine.Open(dirA, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	serve := func(addr string) (string, func()) {
		ln, err := peer.Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			peer.Serve(ctx, sa, ln, &peer.Options{Name: "A", Follow: true}, nil)
		}()
		return ln.Addr().String(), func() { cancel(); <-done }
	}
	addr, stopServer := serve("127.0.0.1:0")

	r := &syncRunner{getenv: func(string) string { return "" }, retryDelay: 20 * time.Millisecond}
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	r.Flags(fs)
	if err := fs.Parse([]string{"--data", dirB, "--connect", addr, "--follow", "--name", "B"}); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, &Env{Stderr: &stderr, Stdout: io.Discard}, nil) }()
	waitLines := func(what string, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(stderr.String(), what) < n {
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %d× %q:\n%s", n, what, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitLines("sync: in sync with A", 1)
	stopServer()
	waitLines("retrying in", 1)
	// A edits while B is away, then comes back on the same address.
	w, err := sa.Workspace(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Transact(context.Background(), "test", func(_ *crdt.Txn, b *engine.Blocks) error {
		_, err := b.Create(engine.NewBlock{ID: "while-away", Flavour: "affine:paragraph"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, stopServer = serve(addr)
	defer stopServer()
	waitLines("sync: in sync with A", 2)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("sync --follow: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "sync: stopped") {
		t.Errorf("stderr lacks the stop line:\n%s", stderr.String())
	}
	sb, err := engine.Open(dirB, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	wb, err := sb.Workspace(context.Background(), "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := wb.Get(context.Background(), "while-away"); err != nil || !ok {
		t.Errorf("B lacks the block A made while it was away (%v)", err)
	}
}
