package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"octobase/replication/ysync"
)

// writeGate holds the writer of one connection (by id) in
// Server.testHookWrite while closed.
type writeGate struct {
	id      uint64
	entered chan struct{} // a value each time the writer waits in the gate
	mu      sync.Mutex
	ch      chan struct{} // nil: open
}

// startGated starts a server whose connection id writes through a gate.
func startGated(t *testing.T, opts Options, id uint64) (*testEnv, *writeGate) {
	g := &writeGate{id: id, entered: make(chan struct{}, 1)}
	e := startServerHook(t, t.TempDir(), opts, g.hook)
	// Cleanups run last first: this one before the server's Close, which
	// would wait for a held writer.
	t.Cleanup(g.release)
	return e, g
}

func (g *writeGate) hook(c *conn) {
	if c.id != g.id {
		return
	}
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch != nil {
		g.entered <- struct{}{}
		<-ch
	}
}

func (g *writeGate) hold() {
	g.mu.Lock()
	g.ch = make(chan struct{})
	g.mu.Unlock()
}

// waitHeld waits until the writer waits in the gate.
func (g *writeGate) waitHeld(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the writer to reach the gate")
	}
}

func (g *writeGate) release() {
	g.mu.Lock()
	if g.ch != nil {
		close(g.ch)
		g.ch = nil
	}
	g.mu.Unlock()
}

// liveConn returns the server's connection with id.
func liveConn(t *testing.T, s *Server, id uint64) *conn {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.mu.live {
		if c.id == id {
			return c
		}
	}
	t.Fatalf("no connection %d", id)
	return nil
}

// TestCoalesceQueuedUpdates holds a connection's writer while updates and
// an awareness message queue up behind it, then checks what the client
// receives: the updates queued together arrive as one message, their
// merge, and the awareness message stays between the updates queued before
// and after it.
func TestCoalesceQueuedUpdates(t *testing.T) {
	e, gate := startGated(t, Options{}, 1)
	ctx := context.Background()
	c := dial(t, e.wsURL("co"), nil) // connection 1
	if _, ok := readMsg(t, c).(ysync.SyncStep1); !ok {
		t.Fatal("want SyncStep1 first")
	}
	other := dial(t, e.wsURL("co"), nil) // connection 2, not held
	readMsg(t, other)
	sc := liveConn(t, e.srv, 1)
	ws, err := e.store.Workspace(ctx, "co")
	if err != nil {
		t.Fatal(err)
	}
	ups := docUpdates(1, "t", 9)
	apply := func(us [][]byte) {
		t.Helper()
		for _, u := range us {
			if _, err := ws.Apply(ctx, u, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	queued := func(n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d queued messages", n), func() bool { return len(sc.send) == n })
	}

	gate.hold()
	apply(ups[:1]) // taken by the writer, which then waits in the gate
	gate.waitHeld(t)
	queued(0)
	apply(ups[1:6])
	queued(5)
	aw := ysync.EncodeAwarenessUpdate([]ysync.AwarenessEntry{{ClientID: 77, Clock: 1, State: `{"user":"b"}`}})
	writeMsg(t, other, ysync.AppendAwareness(nil, aw))
	queued(6)
	apply(ups[6:])
	queued(9)
	gate.release()

	// Every message is one logged update or the merge of consecutive ones.
	if runs := readRuns(t, c, ups[:6]); fmt.Sprint(runs) != "[1 5]" {
		t.Fatalf("the first 6 updates came in runs %v, want [1 5]", runs)
	}
	if m, ok := readMsg(t, c).(ysync.AwarenessUpdate); !ok {
		t.Fatalf("got %v, want the awareness update between the updates", m)
	}
	if runs := readRuns(t, c, ups[6:]); fmt.Sprint(runs) != "[3]" {
		t.Fatalf("the last 3 updates came in runs %v, want [3]", runs)
	}
	if got := e.srv.metrics.wsCoalesced.Load(); got < 4+2 {
		t.Fatalf("coalesced updates = %d, want at least 6", got)
	}
	rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, data, err := c.Read(rctx); err == nil {
		t.Fatalf("extra message %x", data)
	}
}

// TestCoalesceConverges has several clients edit one text concurrently
// while a held writer makes their updates pile up in one connection's
// queue; every client, the held one included, must end with the server's
// text.
func TestCoalesceConverges(t *testing.T) {
	e, gate := startGated(t, Options{}, 1)
	held := newSyncClient(t, e.wsURL("cv"), 100) // connection 1
	waitFor(t, "the held client to sync", func() bool { return len(held.received()) >= 2 })
	var cs []*syncClient
	for i := range 3 {
		cs = append(cs, newSyncClient(t, e.wsURL("cv"), uint64(200+i)))
	}
	gate.hold()
	var wg sync.WaitGroup
	for i, sc := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 20 {
				sc.edit(insertText("t", 0, fmt.Sprintf("<%d.%d>", i, j)))
			}
		}()
	}
	wg.Wait()
	held.edit(insertText("t", 0, "held"))
	want := func() string { return serverText(t, e.store, "cv", "t") }
	waitFor(t, "the edits to be logged", func() bool { return strings.Count(want(), "<") == 60 && strings.Contains(want(), "held") })
	gate.release()
	final := want()
	for _, sc := range append(cs, held) {
		waitFor(t, "a client to converge", func() bool { return sc.text("t") == final })
	}
	if e.srv.metrics.wsCoalesced.Load() == 0 {
		t.Fatal("no update was coalesced")
	}
}

// TestStuckWriterClosed checks that a connection whose write cannot
// complete (its client reads nothing) is closed after the write timeout,
// although its send queue never overflows, and that the others are not
// held up.
func TestStuckWriterClosed(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{SendQueue: 4096, WriteTimeout: 100 * time.Millisecond, PingInterval: -1})
	stuck := dial(t, e.wsURL("stuck"), nil) // reads nothing until the end
	fast := newSyncClient(t, e.wsURL("stuck"), 1)
	chunk := strings.Repeat("x", 256<<10)
	for i := 0; i < 128 && e.srv.metrics.writeTimeouts.Load() == 0; i++ {
		fast.edit(insertText("t", 0, chunk))
	}
	waitFor(t, "the stuck writer to be closed", func() bool { return e.srv.metrics.writeTimeouts.Load() > 0 })
	if n := e.srv.overflows.Load(); n != 0 {
		t.Fatalf("overflows = %d, want 0 (the write timeout must close it)", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var err error
	for err == nil {
		_, _, err = stuck.Read(ctx)
	}
	if ctx.Err() != nil {
		t.Fatalf("the stuck client's connection is still open: %v", err)
	}
	n := len(fast.received())
	fast.edit(insertText("t", 0, "!"))
	waitFor(t, "the fast client to get its echo", func() bool { return len(fast.received()) > n })
	waitFor(t, "the stuck connection's handler to end", func() bool { return e.srv.metrics.connections.Load() == 1 })
}

// TestPingTimeout checks the sweeper's pings: a client that reads nothing
// (so answers no ping) is closed, one that reads stays connected.
func TestPingTimeout(t *testing.T) {
	const interval = 80 * time.Millisecond
	e := startServer(t, t.TempDir(), Options{PingInterval: interval})
	alive := newSyncClient(t, e.wsURL("ping"), 1)
	deaf := dial(t, e.wsURL("ping"), nil)
	waitFor(t, "the deaf client to be closed", func() bool {
		return e.srv.metrics.pingTimeouts.Load() == 1 && e.srv.metrics.connections.Load() == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, _, err := deaf.Read(ctx)
	for err == nil {
		_, _, err = deaf.Read(ctx)
	}
	if websocket.CloseStatus(err) != -1 || ctx.Err() != nil {
		t.Fatalf("the deaf client's read ended with %v, want the connection cut off", err)
	}
	time.Sleep(10 * interval)
	if n := e.srv.metrics.connections.Load(); n != 1 {
		t.Fatalf("connections = %d, want 1: the client that answers pings", n)
	}
	n := len(alive.received())
	alive.edit(insertText("t", 0, "still here"))
	waitFor(t, "the live client's echo", func() bool { return len(alive.received()) > n })
}
