package serverbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

// An edit inserts one marker into the writer's Y.Text:
//
//	~T wwww ssssssss tttttttttttttttt ~   (no spaces)
//
// w = the writer's index in its room, s = its sequence number (from 1),
// t = the send time, ns since the run's epoch; all lowercase hex. The marker
// travels as a ContentString in the v1 update, so an observer finds it with
// a byte search and decodes nothing else.
const (
	markerPrefix = "~T"
	markerLen    = 2 + 4 + 8 + 16 + 1
)

// appendMarker appends the marker of (writer, seq, sent).
func appendMarker(dst []byte, writer int, seq uint32, sent int64) []byte {
	return fmt.Appendf(dst, "%s%04x%08x%016x~", markerPrefix, writer, seq, uint64(sent))
}

// parseMarker decodes the marker at the start of b.
func parseMarker(b []byte) (writer int, seq uint32, sent int64, ok bool) {
	if len(b) < markerLen || string(b[:2]) != markerPrefix || b[markerLen-1] != '~' {
		return 0, 0, 0, false
	}
	w, ok1 := parseHex(b[2:6])
	s, ok2 := parseHex(b[6:14])
	t, ok3 := parseHex(b[14:30])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, false
	}
	return int(w), uint32(s), int64(t), true
}

func parseHex(b []byte) (uint64, bool) {
	var v uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint64(c-'a'+10)
		default:
			return 0, false
		}
	}
	return v, true
}

// room is one workspace of a run and the clients connected to it.
type room struct {
	name    string
	clients []*client
	writers []*writer
}

// client is one WebSocket connection. Observers and writers read alike:
// they answer the server's SyncStep1 with an empty SyncStep2 (what a new
// y-websocket client with an empty document sends), wait for the server's
// SyncStep2, and then only look for markers in Update messages. Nothing is
// applied to a document: the benchmark measures the server.
type client struct {
	r      *run
	room   *room
	ws     *websocket.Conn
	writer *writer // nil for an observer

	synced chan struct{} // closed by the first SyncStep2
	done   chan struct{} // closed when the read loop ends

	// Written by the read loop only; read after done is closed.
	next     []uint32 // per writer of the room: next expected sequence number
	lat      []int64  // ns from send to receipt of the other writers' edits
	received int64    // markers received, the client's own included
	dups     int64
	gaps     int64
	err      error // why the read loop ended, if not by our closing
}

// writer is a client that edits: its own crdt.Doc whose Y.Text it appends
// markers to, sending each transaction's v1 update as a y-protocols Update.
// At most window of its edits are in flight: an edit is complete when every
// client of the room, its sender included, has received it.
type writer struct {
	c    *client
	idx  int // in room.writers
	doc  *crdt.Doc
	text *crdt.Text
	upd  []byte // the last transaction's update (OnUpdate)

	slots     []atomic.Int32 // receipts of seq s in slots[s%window]
	complete  chan struct{}  // one value per completed edit, in order
	sent      uint32         // edits sent; written by run, read after it returned
	completed atomic.Int64
	lastDone  atomic.Int64 // run time of the last completion
	err       error
}

func newWriter(c *client, idx int, clientID uint64, window int) (*writer, error) {
	doc, err := crdt.NewDoc(crdt.Options{ClientID: clientID})
	if err != nil {
		return nil, err
	}
	text, err := doc.GetText("bench")
	if err != nil {
		return nil, err
	}
	w := &writer{c: c, idx: idx, doc: doc, text: text,
		slots: make([]atomic.Int32, window), complete: make(chan struct{}, window)}
	doc.OnUpdate(func(u []byte, _ *crdt.Txn) { w.upd = append(w.upd[:0], u...) })
	return w, nil
}

// connect dials the room's workspace, starts the read loop and sends the
// client's SyncStep1; synced closes once the server answered it.
func (c *client) connect(ctx context.Context, url string) error {
	ws, _, err := websocket.Dial(ctx, url, dialOptions())
	if err != nil {
		return err
	}
	ws.SetReadLimit(64 << 20)
	c.ws = ws
	c.next = make([]uint32, len(c.room.writers))
	for i := range c.next {
		c.next[i] = 1
	}
	go c.readLoop()
	step1 := ysync.AppendSyncStep1(nil, crdt.StateVector{})
	if c.writer != nil {
		step1 = ysync.Step1(c.writer.doc)
	}
	return ws.Write(ctx, websocket.MessageBinary, step1)
}

// emptyStep2 is SyncStep2 with an empty v1 update.
var emptyStep2 = ysync.AppendSyncStep2(nil, []byte{0, 0})

func (c *client) readLoop() {
	defer close(c.done)
	ctx := context.Background()
	var buf bytes.Buffer
	synced := false
	for {
		typ, rd, err := c.ws.Reader(ctx)
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(rd)
		}
		if err != nil {
			if !c.r.closing.Load() {
				c.err = err
			}
			return
		}
		now := c.r.now()
		msg := buf.Bytes()
		if typ != websocket.MessageBinary || len(msg) < 2 || msg[0] != ysync.MsgSync {
			continue // awareness and anything else: not measured
		}
		switch msg[1] {
		case ysync.MsgSyncStep1:
			if err := c.ws.Write(ctx, websocket.MessageBinary, emptyStep2); err != nil {
				c.err = err
				return
			}
		case ysync.MsgSyncStep2:
			if !synced {
				synced = true
				close(c.synced)
			}
		case ysync.MsgSyncUpdate:
			c.observe(msg[2:], now)
		}
	}
}

// observe records the markers in one update message received at now.
func (c *client) observe(b []byte, now int64) {
	for {
		i := bytes.Index(b, []byte(markerPrefix))
		if i < 0 {
			return
		}
		wi, seq, sent, ok := parseMarker(b[i:])
		if !ok || wi >= len(c.room.writers) {
			b = b[i+1:]
			continue
		}
		b = b[i+markerLen:]
		c.received++
		switch next := c.next[wi]; {
		case seq < next:
			c.dups++
			continue
		case seq > next:
			c.gaps += int64(seq - next)
		}
		c.next[wi] = seq + 1
		w := c.room.writers[wi]
		if w != c.writer && sent >= c.r.measured.Load() {
			c.lat = append(c.lat, now-sent)
		}
		if w.slots[seq%uint32(len(w.slots))].Add(1) == int32(len(c.room.clients)) {
			w.completed.Add(1)
			w.lastDone.Store(now)
			w.complete <- struct{}{}
		}
	}
}

// run sends edits until stop ends (at most len(slots) in flight; with
// interval > 0, at most one per interval, the first after phase +
// interval), then waits until drain ends for the ones in flight to
// complete.
func (w *writer) run(stop, drain context.Context, phase, interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		select {
		case <-time.After(phase):
		case <-stop.Done():
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	window := uint32(len(w.slots))
	var consumed uint32
	var marker []byte
send:
	for seq := uint32(1); stop.Err() == nil; seq++ {
		if seq > window {
			select {
			case <-w.complete:
				consumed++
			case <-stop.Done():
				break send
			}
		}
		if tick != nil {
			select {
			case <-tick:
			case <-stop.Done():
				break send
			}
		}
		w.slots[seq%window].Store(0)
		marker = appendMarker(marker[:0], w.idx, seq, w.c.r.now())
		var ierr error
		w.doc.Transact(nil, func(tx *crdt.Txn) { ierr = w.text.Insert(tx, w.text.Len(), string(marker), nil) })
		if ierr != nil {
			w.err = ierr
			return
		}
		wctx, cancel := context.WithTimeout(drain, 10*time.Second)
		err := w.c.ws.Write(wctx, websocket.MessageBinary, ysync.AppendUpdate(nil, w.upd))
		cancel()
		if err != nil {
			w.err = fmt.Errorf("sending edit %d: %w", seq, err)
			return
		}
		w.sent = seq
	}
	for consumed < w.sent {
		select {
		case <-w.complete:
			consumed++
		case <-drain.Done():
			w.err = errors.New("edits still in flight when the drain timed out")
			return
		}
	}
}
