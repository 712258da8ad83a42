package server

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"

	"octobase/engine/crdt"
	"octobase/replication/ysync"
)

// outMsg is one message queued for a connection. The messages the room's
// broadcaster sends, [0,2,update], are shared by every connection of the
// room and carry their update and their place in the room's broadcast
// sequence, so that a writer can merge consecutive ones.
type outMsg struct {
	data []byte // the y-protocols message, as written
	// update is the update of a broadcast [0,2,update] message, nil for
	// every other message (which is never merged with anything).
	update []byte
	seq    uint64 // the room's broadcast sequence number (from 1), if update != nil

	// merged remembers the last run starting at this message that a
	// writer merged: the connections of a room often find the same run in
	// their queues, and merge it once.
	merged struct {
		sync.Mutex
		last uint64 // seq of the run's last message; 0: none
		data []byte // [0,2,merged update]
	}
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
				if !s.write(c, m.data, 0) {
					return
				}
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
		return s.write(c, run[0].data, 0)
	}
	data := mergeRun(run)
	if data == nil {
		// Cannot happen for logged updates; write them one by one.
		for _, m := range run {
			if !s.write(c, m.data, 0) {
				return false
			}
		}
		return true
	}
	return s.write(c, data, len(run)-1)
}

// mergeRun returns [0,2,u] where u merges the updates of run (consecutive
// in their room's broadcast sequence), or nil if they do not merge. The
// result is remembered on run[0] for the next connection with the same run.
func mergeRun(run []*outMsg) []byte {
	first, last := run[0], run[len(run)-1].seq
	first.merged.Lock()
	defer first.merged.Unlock()
	if first.merged.last == last {
		return first.merged.data
	}
	ups := make([][]byte, len(run))
	for i, m := range run {
		ups[i] = m.update
	}
	u, err := crdt.MergeUpdates(ups)
	if err != nil {
		return nil
	}
	first.merged.last, first.merged.data = last, ysync.AppendUpdate(nil, u)
	return first.merged.data
}

// write writes one message, which holds merged+1 queued updates (merged
// is 0 for any other message). On failure it closes the connection and
// reports false.
func (s *Server) write(c *conn, data []byte, merged int) bool {
	if s.testHookWrite != nil {
		s.testHookWrite(c)
	}
	c.writes.Add(1) // odd: a write is in progress (sweeper)
	err := c.ws.Write(context.Background(), websocket.MessageBinary, data)
	c.writes.Add(1)
	if err != nil {
		c.ws.CloseNow()
		return false
	}
	s.metrics.wsBytesOut.Add(int64(len(data)))
	s.metrics.wsMessagesOut.Add(1)
	if merged > 0 {
		s.metrics.wsCoalesced.Add(int64(merged))
	}
	return true
}

// closeKicked closes the connection with the code and reason of its kick.
func (s *Server) closeKicked(c *conn) {
	c.kickMu.Lock()
	code, reason := c.code, c.reason
	c.kickMu.Unlock()
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
//   - every PingInterval/pingSlots, it pings one slot of the connections
//     (by id), each in a short-lived goroutine, and closes a connection
//     whose pong does not come back within PingInterval. Each connection is
//     pinged once per PingInterval.
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
				if c.id%pingSlots != slot || !c.pinging.CompareAndSwap(false, true) {
					continue
				}
				s.wg.Add(1)
				go s.ping(c)
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

// ping pings c once and closes it if the pong does not come back within
// PingInterval.
func (s *Server) ping(c *conn) {
	defer s.wg.Done()
	defer c.pinging.Store(false)
	ctx, cancel := context.WithTimeout(c.ctx, s.opts.PingInterval)
	err := c.ws.Ping(ctx)
	cancel()
	if err != nil && c.ctx.Err() == nil {
		c.log.Warn("ping failed", "err", err)
		s.metrics.pingTimeouts.Add(1)
		c.ws.CloseNow()
	}
}
