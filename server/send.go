package server

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
)

// outMsg is one message queued for a connection, as the WebSocket frame
// the server writes (frame.go). The messages the room's broadcaster sends,
// [0,2,update], are shared by every connection of the room and carry their
// update and their place in the room's broadcast sequence, so that a
// writer can merge consecutive ones.
type outMsg struct {
	// frame is the frame as written; nil only asks the writer to finish
	// the connection's partial frame.
	frame []byte
	// update is the update inside the frame of a broadcast [0,2,update]
	// message, nil for every other message (which is never merged with
	// anything).
	update []byte
	seq    uint64 // the room's broadcast sequence number (from 1), if update != nil

	// merged remembers the last run starting at this message that a
	// writer merged: the connections of a room often find the same run in
	// their queues, and merge it once.
	merged struct {
		sync.Mutex
		last  uint64 // seq of the run's last message; 0: none
		frame []byte // [0,2,merged update], framed
	}
}

// sendNow writes m at once if the connection is idle and its socket takes
// the whole frame now (tryWriteNow), and queues it otherwise.
func (c *conn) sendNow(m *outMsg) {
	if !c.tryWriteNow(m.frame) {
		c.enqueueMsg(m)
	}
}

// sendFrame is sendNow for a frame of no broadcast.
func (c *conn) sendFrame(frame []byte) {
	if !c.tryWriteNow(frame) {
		c.enqueueMsg(&outMsg{frame: frame})
	}
}

// tryWriteNow writes frame from the calling goroutine, without waking the
// connection's writer, when nothing is queued before it and nothing is
// being written: one non-blocking write(2). It reports false, having
// written nothing, when the frame must be queued instead: the connection
// is busy, has no descriptor (raw), or its socket buffer is full. A frame
// the socket takes only in part is written; its rest is left to the
// writer, before anything queued later.
//
// With broadcasts written this way, an update reaches the idle
// connections of a room from the broadcaster's goroutine alone, which
// costs a fraction of waking one writer per connection.
func (c *conn) tryWriteNow(frame []byte) bool {
	if c.raw == nil || c.pending.Load() != 0 || !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	if c.closing || c.partial != nil || c.pending.Load() != 0 {
		return false
	}
	n, err := writeNonblock(c.raw, frame)
	if err != nil {
		// The connection is broken; its reader ends the handler.
		c.closing = true
		c.ws.CloseNow()
		return true
	}
	if n == 0 {
		return false
	}
	c.srv.metrics.wsBytesOut.Add(int64(len(frame)))
	c.srv.metrics.wsMessagesOut.Add(1)
	c.srv.metrics.wsDirect.Add(1)
	if n < len(frame) {
		c.srv.partials.Add(1)
		c.partial = frame[n:]
		c.enqueueMsg(&outMsg{}) // the writer writes the rest
	}
	return true
}

// maxRun bounds how many queued updates are merged into one message, on top
// of the size bound (Options.MaxMessageSize).
const maxRun = 1024

// writeLoop writes the connection's queued messages until ctx ends or the
// connection is kicked; a kick closes the connection with its code and
// reason.
//
// Consecutive broadcast updates found in the queue are merged
// (crdt.MergeUpdates) into one [0,2,update] message: one frame and one
// write(2) instead of one each. Order is kept: a run ends at any other
// message (a sync reply, awareness), which is written after the run, and at
// a gap in the room's broadcast sequence.
//
// Writes carry no deadline (a context without a Done channel costs
// coder/websocket nothing per write); the sweeper closes a connection whose
// write has not completed for WriteTimeout.
func (s *Server) writeLoop(ctx context.Context, c *conn) {
	var run []*outMsg
	limit := int(min(s.opts.MaxMessageSize, int64(^uint(0)>>1)))
	for {
		var m *outMsg
		select {
		case <-ctx.Done():
			return
		case <-c.kickc:
			s.closeKicked(c)
			return
		case m = <-c.send:
		}
		for m != nil {
			if c.kicked() {
				s.closeKicked(c)
				return
			}
			if m.update == nil {
				if !s.write(c, m.frame, 0) {
					return
				}
				c.pending.Add(-1)
				m = nil
				continue
			}
			// Gather the updates that follow m in the queue.
			run = append(run[:0], m)
			size := len(m.update)
			var next *outMsg
		gather:
			for len(run) < maxRun {
				select {
				case n := <-c.send:
					if n.update == nil || n.seq != run[len(run)-1].seq+1 || size+len(n.update) > limit {
						next = n
						break gather
					}
					run = append(run, n)
					size += len(n.update)
				default:
					break gather
				}
			}
			if !s.writeRun(c, run) {
				return
			}
			c.pending.Add(-int64(len(run)))
			clear(run)
			if cap(run) > 64 {
				run = nil // do not keep a long slice on an idle connection
			}
			m = next
		}
	}
}

// writeRun writes consecutive broadcast updates as one message.
func (s *Server) writeRun(c *conn, run []*outMsg) bool {
	if len(run) == 1 {
		return s.write(c, run[0].frame, 0)
	}
	frame := mergeRun(run)
	if frame == nil {
		// Cannot happen for logged updates; write them one by one.
		for _, m := range run {
			if !s.write(c, m.frame, 0) {
				return false
			}
		}
		return true
	}
	return s.write(c, frame, len(run)-1)
}

// mergeRun returns the frame of [0,2,u] where u merges the updates of run
// (consecutive in their room's broadcast sequence), or nil if they do not
// merge. The result is remembered on run[0] for the next connection with
// the same run.
func mergeRun(run []*outMsg) []byte {
	first, last := run[0], run[len(run)-1].seq
	first.merged.Lock()
	defer first.merged.Unlock()
	if first.merged.last == last {
		return first.merged.frame
	}
	ups := make([][]byte, len(run))
	for i, m := range run {
		ups[i] = m.update
	}
	u, err := crdt.MergeUpdates(ups)
	if err != nil {
		return nil
	}
	first.merged.last, first.merged.frame = last, updateFrame(u)
	return first.merged.frame
}

// write writes one frame (nil: only the rest of a partial one), which
// holds merged+1 queued updates (merged is 0 for any other message),
// waiting as long as the socket needs: the sweeper cuts off a write stuck
// for WriteTimeout. On failure it closes the connection and reports false.
func (s *Server) write(c *conn, frame []byte, merged int) bool {
	if s.testHookWrite != nil {
		s.testHookWrite(c)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing {
		return false
	}
	c.writes.Add(1) // odd: a write is in progress (sweeper)
	err := c.writeLocked(frame)
	c.writes.Add(1)
	if err != nil {
		c.closing = true
		c.ws.CloseNow()
		return false
	}
	if frame != nil {
		s.metrics.wsBytesOut.Add(int64(len(frame)))
		s.metrics.wsMessagesOut.Add(1)
		if merged > 0 {
			s.metrics.wsCoalesced.Add(int64(merged))
		}
	}
	return true
}

// writeLocked writes the rest of a partial frame, then frame, to the
// connection, blocking until they are written. c.wmu is held.
func (c *conn) writeLocked(frame []byte) error {
	if c.partial != nil {
		if _, err := c.nc.Write(c.partial); err != nil {
			return err
		}
		c.partial = nil
	}
	if len(frame) == 0 {
		return nil
	}
	_, err := c.nc.Write(frame)
	return err
}

// closeKicked closes the connection with the code and reason of its kick,
// after the rest of a partial frame.
func (s *Server) closeKicked(c *conn) {
	c.kickMu.Lock()
	code, reason := c.code, c.reason
	c.kickMu.Unlock()
	c.wmu.Lock()
	closed := c.closing
	var err error
	if !closed {
		c.writes.Add(1)
		err = c.writeLocked(nil)
		c.writes.Add(1)
		c.closing = true
	}
	c.wmu.Unlock()
	if closed || err != nil {
		c.ws.CloseNow()
		return
	}
	if code != websocket.StatusNormalClosure {
		c.log.Warn("closing connection", "status", int(code), "reason", reason)
	}
	c.ws.Close(code, reason)
}

// pingSlots spreads the pings of a PingInterval over this many sweeps, so
// that a node with many connections does not ping them all at once.
const pingSlots = 8

// sweeper is the Server's one goroutine that watches every WebSocket
// connection:
//
//   - every WriteTimeout, it closes (CloseNow) the connections whose
//     current write already was in progress at the previous check: a write
//     stuck for between one and two WriteTimeouts;
//   - every PingInterval/pingSlots, it visits one slot of the connections
//     (by id): it closes those whose previous ping, a PingInterval ago,
//     got no pong, and pings the others. Each connection is pinged once
//     per PingInterval.
func (s *Server) sweeper() {
	defer s.wg.Done()
	watch := time.NewTicker(s.opts.WriteTimeout)
	defer watch.Stop()
	var pingC <-chan time.Time
	if s.opts.PingInterval > 0 {
		t := time.NewTicker(max(s.opts.PingInterval/pingSlots, time.Millisecond))
		defer t.Stop()
		pingC = t.C
	}
	var conns []*conn
	var slot uint64
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-watch.C:
			conns = s.appendLive(conns[:0])
			for _, c := range conns {
				w := c.writes.Load()
				if w%2 == 1 && w == c.watched {
					c.log.Warn("write timed out", "timeout", s.opts.WriteTimeout)
					s.metrics.writeTimeouts.Add(1)
					c.ws.CloseNow()
				}
				c.watched = w
			}
		case <-pingC:
			conns = s.appendLive(conns[:0])
			for _, c := range conns {
				if c.id%pingSlots != slot {
					continue
				}
				if c.pingOut && !c.pongSeen.Load() {
					c.log.Warn("ping timed out", "interval", s.opts.PingInterval)
					s.metrics.pingTimeouts.Add(1)
					c.ws.CloseNow()
					continue
				}
				c.pingOut = true
				c.pongSeen.Store(false)
				c.sendFrame(pingFrame)
			}
			slot = (slot + 1) % pingSlots
		}
		clear(conns)
	}
}

// appendLive appends the connections whose handler is running to dst.
func (s *Server) appendLive(dst []*conn) []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.mu.live {
		dst = append(dst, c)
	}
	return dst
}

// pingFrame is the ping the sweeper sends (an empty payload).
var pingFrame = appendFrame(nil, opPing, nil)
