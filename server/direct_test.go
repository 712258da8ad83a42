package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"octobase/engine/crdt"
)

// TestDirectWrites: updates broadcast to an idle connection are written by
// the broadcaster itself (no writer woken), one message each, in order.
func TestDirectWrites(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	ctx := context.Background()
	c, ws := e.greeted(t, "dw")
	ups := docUpdates(1, "t", 20)
	before := e.srv.metrics.wsDirect.Load()
	for i, u := range ups {
		// Each is read before the next is applied: the broadcaster finds
		// no change waiting behind it.
		if _, err := ws.Apply(ctx, u, "test"); err != nil {
			t.Fatal(err)
		}
		if runs := readRuns(t, c, ups[i:i+1]); fmt.Sprint(runs) != "[1]" {
			t.Fatalf("update %d came in runs %v", i, runs)
		}
	}
	if got := e.srv.metrics.wsDirect.Load() - before; got < int64(len(ups)) {
		t.Fatalf("%d of %d updates written directly, want all: the connection was idle before each", got, len(ups))
	}
}

// TestDirectWritePartial: a client that stops reading lets its socket
// fill; a direct write the socket takes only in part is finished by the
// connection's writer, and everything after it queues behind it. When the
// client reads again it gets every update, whole and in order.
func TestDirectWritePartial(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{SendQueue: 4096, PingInterval: -1})
	ctx := context.Background()
	slow, ws := e.greeted(t, "pw")
	doc := crdt.MustNewDoc(crdt.Options{ClientID: 5})
	var ups [][]byte
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { ups = append(ups, append([]byte(nil), u...)) })
	chunk := strings.Repeat("p", 100<<10)
	deadline := time.Now().Add(testTimeout)
	for e.srv.partials.Load() == 0 || len(ups) < 8 {
		if time.Now().After(deadline) || len(ups) > 400 {
			t.Fatalf("no partial write after %d updates of 100 KB", len(ups))
		}
		doc.Transact(nil, func(tx *crdt.Txn) { insertText("t", 0, chunk)(tx, doc) })
		b := e.srv.metrics.broadcasts.Load()
		if _, err := ws.Apply(ctx, ups[len(ups)-1], "test"); err != nil {
			t.Fatal(err)
		}
		// One at a time: with changes waiting, the broadcaster queues.
		waitFor(t, "the broadcast", func() bool { return e.srv.metrics.broadcasts.Load() > b })
	}
	readRuns(t, slow, ups)
	if e.srv.metrics.wsDirect.Load() == 0 {
		t.Fatal("no direct write")
	}
}

// TestClientPing: a client's ping is answered (the server writes the pong
// itself, in order with its other frames).
func TestClientPing(t *testing.T) {
	e := startServer(t, t.TempDir(), Options{})
	sc := newSyncClient(t, e.wsURL("cp"), 1)
	waitFor(t, "the client to sync", func() bool { return len(sc.received()) >= 2 })
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		err := sc.c.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	n := len(sc.received())
	sc.edit(insertText("t", 0, "after pings"))
	waitFor(t, "the echo", func() bool { return len(sc.received()) > n })
}

// TestGuardedCloseFrame: a close frame coder/websocket writes (here, its
// answer to a client's close) comes after the rest of a frame a direct
// write began, and nothing is written after it.
func TestGuardedCloseFrame(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	s := &Server{}
	c := &conn{srv: s, nc: a}
	g := &guardedConn{Conn: a}
	g.c.Store(c)
	data := updateFrame([]byte("update"))
	c.partial = data[3:] // a direct write got the first 3 bytes out
	closeFrame := []byte{0x80 | opClose, 2, 0x03, 0xe8}
	got := make(chan []byte)
	go func() {
		buf, _ := io.ReadAll(b)
		got <- buf
	}()
	if _, err := g.Write(closeFrame); err != nil {
		t.Fatal(err)
	}
	if !c.closing || c.partial != nil {
		t.Fatalf("after the close frame: closing %v, partial %q", c.closing, c.partial)
	}
	if s.write(c, data, 0) {
		t.Fatal("the writer wrote a frame after the close frame")
	}
	a.Close()
	want := append(append([]byte(nil), data[3:]...), closeFrame...)
	if buf := <-got; !bytes.Equal(buf, want) {
		t.Fatalf("the peer read %x, want the rest of the frame then the close frame %x", buf, want)
	}
}
