package peer

import (
	"fmt"
	"sync"
)

// queue holds the frames waiting for the writer goroutine. Replies from the
// reader (SyncStep2, done) never wait, so the reader can always go on
// reading and two peers cannot deadlock each waiting for the other to read;
// live updates from the change streams wait while more than high bytes are
// queued (backpressure: the subscription falls back to reading the log, so
// nothing is lost). A peer that keeps asking without reading is cut off once
// max bytes are queued.
type queue struct {
	high, max int
	mu        struct {
		sync.Mutex
		frames [][]byte
		bytes  int
		closed bool
	}
	cond sync.Cond
}

func newQueue(high, max int) *queue {
	q := &queue{high: high, max: max}
	q.cond.L = &q.mu
	return q
}

// errQueueClosed is returned by push after close.
var errQueueClosed = fmt.Errorf("peer: session closed")

// push queues a length-prefixed frame. With wait it first waits until the
// queue holds at most high bytes.
func (q *queue) push(f []byte, wait bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for wait && !q.mu.closed && q.mu.bytes > q.high {
		q.cond.Wait()
	}
	if q.mu.closed {
		return errQueueClosed
	}
	if !wait && q.mu.bytes+len(f) > q.max {
		return fmt.Errorf("peer: more than %d bytes queued for the peer: it asks without reading", q.max)
	}
	q.mu.frames = append(q.mu.frames, f)
	q.mu.bytes += len(f)
	q.cond.Broadcast()
	return nil
}

// pop waits for frames and takes all of them; ok is false once the queue is
// closed and empty.
func (q *queue) pop() (frames [][]byte, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.mu.frames) == 0 && !q.mu.closed {
		q.cond.Wait()
	}
	frames = q.mu.frames
	q.mu.frames, q.mu.bytes = nil, 0
	q.cond.Broadcast()
	return frames, len(frames) > 0
}

// close stops further pushes. The writer still writes what is queued; if
// final is non-nil it replaces everything queued (an error frame that must
// not wait behind megabytes of updates).
func (q *queue) close(final []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if final != nil {
		q.mu.frames, q.mu.bytes = [][]byte{final}, len(final)
	}
	q.mu.closed = true
	q.cond.Broadcast()
}
