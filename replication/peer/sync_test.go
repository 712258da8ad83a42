package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
	"octobase/engine/lib0"
	"octobase/replication/ysync"
)

// timeout bounds every session of the tests.
const timeout = 30 * time.Second

// envChild makes the test binary a sync child: TestMain runs childMain on
// the store directory it names, speaking on stdin and stdout.
const envChild = "OCTOBASE_PEER_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envChild); dir != "" {
		os.Exit(childMain(dir))
	}
	os.Exit(m.Run())
}

func childMain(dir string) int {
	s, err := engine.Open(dir, &engine.Options{IdleTimeout: -1})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := Sync(ctx, s, NewStream(os.Stdin, os.Stdout), &Options{Name: "child"})
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "child: synced %v, %d bytes in, %d out\n", st.Workspaces, st.BytesIn, st.BytesOut)
	return 0
}

// twoStores returns stores A and B holding the same seeded workspaces,
// each then edited offline.
func twoStores(t *testing.T) (a, b *engine.Store) {
	a, b = newStore(t, 100), newStore(t, 200)
	seed(t, a)
	ca, cb := Pipe()
	syncPair(t, a, b, ca, cb, nil, nil)
	sameState(t, testWorkspaces, a, b)
	editOffline(t, a, b)
	return a, b
}

func TestSyncPipe(t *testing.T) {
	a, b := twoStores(t)
	if bytes.Equal(stateOf(t, a, "alpha").sv, stateOf(t, b, "alpha").sv) {
		t.Fatal("the offline edits left the stores equal")
	}
	ca, cb := Pipe()
	sa, sb := syncPair(t, a, b, ca, cb, &Options{Name: "A"}, &Options{Name: "B"})
	sameState(t, testWorkspaces, a, b)
	checkMerged(t, a)
	checkMerged(t, b)
	if sa.Remote != "B" || sb.Remote != "A" || !sa.Synced || !sb.Synced || fmt.Sprint(sa.Workspaces) != "[alpha beta]" {
		t.Errorf("stats: A %+v, B %+v", sa, sb)
	}
	if sa.BytesOut != sb.BytesIn || sb.BytesOut != sa.BytesIn {
		t.Errorf("bytes: A out %d in %d, B out %d in %d", sa.BytesOut, sa.BytesIn, sb.BytesOut, sb.BytesIn)
	}
	// A second sync finds nothing to send and changes nothing.
	before := lastLSN(t, a, "alpha")
	ca, cb = Pipe()
	syncPair(t, a, b, ca, cb, nil, nil)
	if after := lastLSN(t, a, "alpha"); after != before {
		t.Errorf("a sync of equal stores logged records %d..%d", before+1, after)
	}
}

func lastLSN(t testing.TB, s *engine.Store, name string) uint64 {
	t.Helper()
	l, err := workspace(t, s, name).LastLSN(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return uint64(l)
}

func TestSyncTCP(t *testing.T) {
	a, b := twoStores(t)
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ended := make(chan error, 1)
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, a, ln, &Options{Name: "A", Follow: true}, func(_ string, _ Stats, err error) { ended <- err })
	}()
	st, err := Dial(ctx, b, ln.Addr().String(), &Options{Name: "B"})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-ended; err != nil {
		t.Errorf("server side of the session: %v", err)
	}
	if !st.Synced || st.Remote != "A" {
		t.Errorf("stats %+v", st)
	}
	sameState(t, testWorkspaces, a, b)
	checkMerged(t, b)
	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestSyncStdioProcess syncs with a child process (this test binary,
// re-executed) over its standard input and output.
func TestSyncStdioProcess(t *testing.T) {
	a := newStore(t, 100)
	dirB := t.TempDir()
	b := openStore(t, dirB, 200)
	seed(t, a)
	ca, cb := Pipe()
	syncPair(t, a, b, ca, cb, nil, nil)
	editOffline(t, a, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+dirB)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	st, err := Sync(ctx, a, NewStream(stdout, stdin), &Options{Name: "parent"})
	werr := cmd.Wait()
	t.Logf("child stderr: %s", stderr.String())
	if err != nil || werr != nil {
		t.Fatalf("sync: %v; child: %v", err, werr)
	}
	if st.Remote != "child" || !st.Synced {
		t.Errorf("stats %+v", st)
	}
	b = openStore(t, dirB, 200)
	defer b.Close()
	sameState(t, testWorkspaces, a, b)
	checkMerged(t, b)
}

// cutConn fails every write once limit bytes were written, like a network
// that dies mid-sync.
type cutConn struct {
	net.Conn
	mu    sync.Mutex
	limit int
}

func (c *cutConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if len(p) > c.limit {
		n := c.limit
		c.limit = 0
		c.mu.Unlock()
		if n > 0 {
			c.Conn.Write(p[:n])
		}
		c.Conn.Close()
		return n, errors.New("cut")
	}
	c.limit -= len(p)
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func TestSyncResumeAfterCut(t *testing.T) {
	a, b := twoStores(t)
	// Make A's SyncStep2 big, so the cut lands inside it.
	transact(t, a, "alpha", func(bl *engine.Blocks) error {
		for i := range 300 {
			if _, err := bl.Create(engine.NewBlock{ID: engine.BlockID(fmt.Sprint("bulk", i)), Flavour: "affine:paragraph", Parent: "page",
				Props: map[string]any{"text": engine.RichText{Text: fmt.Sprintf("bulk paragraph %d with some text", i)}}}); err != nil {
				return err
			}
		}
		return nil
	})
	for _, limit := range []int{10, 200, 3000} {
		ca, cb := net.Pipe()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		errc := make(chan error, 1)
		go func() {
			_, err := Sync(ctx, b, cb, nil)
			errc <- err
		}()
		_, errA := Sync(ctx, a, &cutConn{Conn: ca, limit: limit}, nil)
		errB := <-errc
		cancel()
		if errA == nil || errB == nil {
			t.Fatalf("cut after %d bytes: A: %v, B: %v; want errors on both sides", limit, errA, errB)
		}
		t.Logf("cut after %d bytes: A: %v; B: %v", limit, errA, errB)
	}
	ca, cb := Pipe()
	syncPair(t, a, b, ca, cb, nil, nil)
	sameState(t, testWorkspaces, a, b)
	checkMerged(t, b)
	if !workspaceHas(t, b, "alpha", "bulk299") {
		t.Error("B lacks A's bulk blocks after the resumed sync")
	}
}

func workspaceHas(t testing.TB, s *engine.Store, name string, id engine.BlockID) bool {
	t.Helper()
	_, ok, err := workspace(t, s, name).Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// follow runs a following session between x and y over a pipe until the
// returned stop is called; stop returns both sides' stats and errors.
func follow(t *testing.T, x, y *engine.Store, nx, ny string) (synced <-chan struct{}, stop func() (Stats, Stats)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cx, cy := Pipe()
	var wg sync.WaitGroup
	var sx, sy Stats
	var ex, ey error
	ch := make(chan struct{}, 2)
	onSynced := func(Stats) { ch <- struct{}{} }
	wg.Add(2)
	go func() {
		defer wg.Done()
		sx, ex = Sync(ctx, x, cx, &Options{Name: nx, Follow: true, OnSynced: onSynced})
	}()
	go func() {
		defer wg.Done()
		sy, ey = Sync(ctx, y, cy, &Options{Name: ny, Follow: true, OnSynced: onSynced})
	}()
	both := make(chan struct{})
	go func() { <-ch; <-ch; close(both) }()
	return both, func() (Stats, Stats) {
		cancel()
		wg.Wait()
		for _, err := range []error{ex, ey} {
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("following session %s-%s: %v", nx, ny, err)
			}
		}
		return sx, sy
	}
}

// TestSyncLineOfThree connects A–B and B–C with following sessions: edits
// made on A reach C through B and back, live, and all three converge.
func TestSyncLineOfThree(t *testing.T) {
	a, b, c := newStore(t, 100), newStore(t, 200), newStore(t, 300)
	seed(t, a)
	transact(t, c, "alpha", func(bl *engine.Blocks) error {
		_, err := bl.Create(engine.NewBlock{ID: "fromC", Flavour: "affine:note"})
		return err
	})
	// The workspaces of a session are fixed by its handshake, so B–C
	// starts once B has A's workspaces.
	syncedAB, stopAB := follow(t, a, b, "A", "B")
	<-syncedAB
	syncedBC, stopBC := follow(t, b, c, "B2", "C")
	<-syncedBC
	// Live edits at both ends.
	transact(t, a, "alpha", func(bl *engine.Blocks) error {
		_, err := bl.Create(engine.NewBlock{ID: "liveA", Flavour: "affine:paragraph", Parent: "page"})
		return err
	})
	transact(t, c, "alpha", func(bl *engine.Blocks) error {
		_, err := bl.Create(engine.NewBlock{ID: "liveC", Flavour: "affine:paragraph"})
		return err
	})
	for _, s := range []*engine.Store{a, b, c} {
		waitFor(t, "live edits everywhere", func() bool {
			return workspaceHas(t, s, "alpha", "liveA") && workspaceHas(t, s, "alpha", "liveC") &&
				workspaceHas(t, s, "alpha", "fromC") && workspaceHas(t, s, "alpha", "p5")
		})
	}
	waitFor(t, "convergence", func() bool {
		return bytes.Equal(stateOf(t, a, "alpha").sv, stateOf(t, c, "alpha").sv) &&
			bytes.Equal(stateOf(t, a, "beta").sv, stateOf(t, c, "beta").sv)
	})
	sa, _ := stopAB()
	_, sc := stopBC()
	sameState(t, testWorkspaces, a, b, c)
	// Nothing is echoed: A received B's SyncStep2 per workspace and C's
	// two live transactions... only C's transaction is new to A.
	if sa.UpdatesIn > int64(len(testWorkspaces))+2 {
		t.Errorf("A received %d updates; echoes?", sa.UpdatesIn)
	}
	if sc.UpdatesIn > int64(len(testWorkspaces))+2 {
		t.Errorf("C received %d updates; echoes?", sc.UpdatesIn)
	}
	t.Logf("A: %+v", sa)
	t.Logf("C: %+v", sc)
}

// TestSyncNoEcho checks that an update received from a peer is not sent
// back to it, and that live updates flow both ways.
func TestSyncNoEcho(t *testing.T) {
	a, b := newStore(t, 100), newStore(t, 200)
	seed(t, a)
	synced, stop := follow(t, a, b, "A", "B")
	<-synced
	transact(t, a, "alpha", func(bl *engine.Blocks) error { return bl.SetProp("p1", "color", "red") })
	transact(t, b, "beta", func(bl *engine.Blocks) error { return bl.SetProp("p2", "color", "blue") })
	waitFor(t, "live updates", func() bool {
		var pa, pb engine.BlockView
		workspace(t, b, "alpha").View(context.Background(), func(v *engine.ReadView) error { pa, _ = v.Get("p1"); return nil })
		workspace(t, a, "beta").View(context.Background(), func(v *engine.ReadView) error { pb, _ = v.Get("p2"); return nil })
		return pa.Props["color"] == "red" && pb.Props["color"] == "blue"
	})
	time.Sleep(50 * time.Millisecond) // room for an echo, if there were one
	sa, sb := stop()
	// A: two SyncStep2s (B had nothing) and B's one live update; B: two
	// SyncStep2s and A's one live update.
	if sa.UpdatesIn != 3 || sb.UpdatesIn != 3 || sa.UpdatesOut != 3 || sb.UpdatesOut != 3 {
		t.Errorf("updates: A in %d out %d, B in %d out %d; want 3 each", sa.UpdatesIn, sa.UpdatesOut, sb.UpdatesIn, sb.UpdatesOut)
	}
	sameState(t, testWorkspaces, a, b)
}

func TestSyncWorkspaceSelection(t *testing.T) {
	a, b := newStore(t, 100), newStore(t, 200)
	seed(t, a) // alpha, beta
	transact(t, b, "gamma", func(bl *engine.Blocks) error {
		_, err := bl.Create(engine.NewBlock{ID: "g", Flavour: "affine:page"})
		return err
	})
	// B wants only alpha: beta stays on A, gamma on B.
	ca, cb := Pipe()
	sa, _ := syncPair(t, a, b, ca, cb, nil, &Options{Workspaces: []string{"alpha"}})
	if fmt.Sprint(sa.Workspaces) != "[alpha]" {
		t.Errorf("synced %v, want [alpha]", sa.Workspaces)
	}
	sameState(t, []string{"alpha"}, a, b)
	names := func(s *engine.Store) string {
		n, err := s.Workspaces()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(n)
	}
	if got := names(a); got != "[alpha beta]" {
		t.Errorf("A has %s", got)
	}
	if got := names(b); got != "[alpha gamma]" {
		t.Errorf("B has %s", got)
	}
	// Without a list both sides get everything.
	ca, cb = Pipe()
	sa, _ = syncPair(t, a, b, ca, cb, nil, nil)
	if fmt.Sprint(sa.Workspaces) != "[alpha beta gamma]" {
		t.Errorf("synced %v", sa.Workspaces)
	}
	sameState(t, []string{"alpha", "beta", "gamma"}, a, b)
}

// fakePeer is the far end of a pipe driven by hand: it sends a hello and
// reads everything the session sends.
type fakePeer struct {
	conn   net.Conn
	frames chan []byte
	hello  chan struct{} // closed once the hello is written
}

func newFakePeer(t *testing.T, h []byte) (*fakePeer, net.Conn) {
	ours, theirs := net.Pipe()
	f := &fakePeer{conn: theirs, frames: make(chan []byte, 100), hello: make(chan struct{})}
	go func() {
		defer close(f.frames)
		br := bufioReader(theirs)
		for {
			b, err := readFrame(br, DefaultMaxFrameSize)
			if err != nil {
				return
			}
			f.frames <- b
		}
	}()
	go func() {
		defer close(f.hello)
		theirs.Write(appendFrame(nil, h))
	}()
	return f, ours
}

// write writes b after the hello.
func (f *fakePeer) write(b []byte) {
	go func() {
		<-f.hello
		f.conn.Write(b)
	}()
}

// lastError returns the reason of the error frame the session sent, if
// any.
func (f *fakePeer) lastError() string {
	reason := ""
	for b := range f.frames {
		if fr, err := decodeFrame(b); err == nil && fr.Kind == frameError {
			reason = fr.Reason
		}
	}
	return reason
}

func TestSyncVersionMismatch(t *testing.T) {
	a := newStore(t, 100)
	seed(t, a)
	h := appendHello(nil, hello{Version: Version, Name: "future", Workspaces: []string{"alpha"}})
	// Patch the version: it follows the kind byte and the magic.
	h[1+1+len(Magic)] = Version + 1
	f, conn := newFakePeer(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := Sync(ctx, a, conn, nil)
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("err = %v, want ErrVersion", err)
	}
	want := fmt.Sprintf("this side speaks version %d, the peer version %d", Version, Version+1)
	if !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("err = %q, want it to say %q", err, want)
	}
	f.conn.Close()
	if r := f.lastError(); !bytes.Contains([]byte(r), []byte("version mismatch")) {
		t.Errorf("the peer was told %q", r)
	}

	// A raw y-protocols peer gets told apart too.
	f, conn = newFakePeer(t, ysync.AppendSyncStep1(nil, crdt.StateVector{}))
	_, err = Sync(ctx, a, conn, nil)
	if !errors.Is(err, ErrVersion) || !bytes.Contains([]byte(err.Error()), []byte("raw y-protocols")) {
		t.Errorf("raw peer: err = %v", err)
	}
	f.conn.Close()
	f.lastError()
}

func TestSyncBadInput(t *testing.T) {
	goodHello := appendHello(nil, hello{Version: Version, Name: "evil", Only: true, Workspaces: []string{"alpha"}})
	msg := func(ws string, m []byte) []byte { return appendFrame(nil, appendMsg(nil, ws, m)) }
	for _, tc := range []struct {
		name  string
		input []byte // after the hello
		want  string
	}{
		{"huge length prefix", lib0.AppendVarUint(nil, 1<<40), "frame too large"},
		{"overlong varint", bytes.Repeat([]byte{0xff}, 11), "overflows"},
		{"unknown frame kind", appendFrame(nil, []byte{9, 1, 2}), "unknown frame kind 9"},
		{"second hello", appendFrame(nil, goodHello), "kind 0 after the handshake"},
		{"empty frame", []byte{0}, "empty frame"},
		{"unknown workspace", msg("nope", ysync.AppendUpdate(nil, []byte{0, 0})), `workspace "nope", which is not in the session`},
		{"malformed y-protocols message", msg("alpha", []byte{0, 7}), "unknown sync message type 7"},
		{"malformed update", msg("alpha", ysync.AppendUpdate(nil, []byte{1, 1, 5, 0, 0x44, 0xff})), "the CRDT rejects"},
		{"malformed step2", msg("alpha", ysync.AppendSyncStep2(nil, []byte{9, 9, 9})), "the CRDT rejects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newStore(t, 100)
			seed(t, a)
			before := stateOf(t, a, "alpha")
			lsn := lastLSN(t, a, "alpha")
			f, conn := newFakePeer(t, goodHello)
			f.write(tc.input)
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			_, err := Sync(ctx, a, conn, nil)
			if !errors.Is(err, ErrProtocol) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("err = %v, want ErrProtocol saying %q", err, tc.want)
			}
			f.conn.Close()
			if r := f.lastError(); r != err.Error() {
				t.Errorf("the peer was told %q, want %q", r, err.Error())
			}
			if after := stateOf(t, a, "alpha"); !bytes.Equal(after.update, before.update) || lastLSN(t, a, "alpha") != lsn {
				t.Error("bad input changed the workspace")
			}
		})
	}
}

func TestSyncRemoteError(t *testing.T) {
	a := newStore(t, 100)
	f, conn := newFakePeer(t, appendError(nil, "go away"))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := Sync(ctx, a, conn, nil)
	var re *RemoteError
	if !errors.As(err, &re) || re.Reason != "go away" {
		t.Errorf("err = %v, want a RemoteError", err)
	}
	f.conn.Close()
}

func TestSyncEOFBeforeSync(t *testing.T) {
	a := newStore(t, 100)
	seed(t, a)
	f, conn := newFakePeer(t, appendHello(nil, hello{Version: Version, Name: "quitter"}))
	go func() {
		time.Sleep(20 * time.Millisecond)
		f.conn.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := Sync(ctx, a, conn, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

// TestSyncFollowBreakAndResume breaks a following session's stream, lets
// both sides edit while apart, and checks that a new session catches up.
func TestSyncFollowBreakAndResume(t *testing.T) {
	a, b := newStore(t, 100), newStore(t, 200)
	seed(t, a)
	ca, cb := Pipe()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	synced := make(chan struct{}, 2)
	onSynced := func(Stats) { synced <- struct{}{} }
	errs := make(chan error, 2)
	go func() {
		_, err := Sync(ctx, a, ca, &Options{Name: "A", Follow: true, OnSynced: onSynced})
		errs <- err
	}()
	go func() {
		_, err := Sync(ctx, b, cb, &Options{Name: "B", Follow: true, OnSynced: onSynced})
		errs <- err
	}()
	<-synced
	<-synced
	transact(t, a, "alpha", func(bl *engine.Blocks) error { return bl.SetProp("p1", "live", 1) })
	waitFor(t, "the live edit on B", func() bool {
		v, _, _ := workspace(t, b, "alpha").Get(context.Background(), "p1")
		return v.Props["live"] == float64(1)
	})
	ca.Close() // the link dies
	for range 2 {
		if err := <-errs; err != nil {
			t.Logf("session after the break: %v", err)
		}
	}
	editOffline(t, a, b)
	synced2, stop := follow(t, a, b, "A", "B")
	<-synced2
	stop()
	sameState(t, testWorkspaces, a, b)
	checkMerged(t, a)
}
