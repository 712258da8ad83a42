package oplog

import (
	"sync"
	"sync/atomic"

	"octobase/oplog/vfs"
)

// GroupSyncer makes files durable for many logs at once (Options.Syncer):
// group commit across logs. A log that needs an fsync joins the next round;
// the first to arrive when no round runs leads it, and rounds run one at a
// time, so every log whose fsync falls due while a round runs is served by
// the next one, in one vfs.SyncAll call (on Linux, one syncfs(2) per
// filesystem instead of one fsync(2) per file: see vfs.SyncAll for what
// that costs and implies). A round's error is returned to every log of the
// round. A log's Sync returns only after a round that started after its
// call ended, so everything it wrote before calling is durable.
//
// The zero value is ready to use; it is safe for concurrent use.
type GroupSyncer struct {
	mu   sync.Mutex
	busy bool   // a round runs
	next *round // the round new callers join; nil: none yet

	rounds, files atomic.Int64

	// syncAll is vfs.SyncAll, replaced by tests.
	syncAll func([]vfs.File) error
}

type round struct {
	files []vfs.File
	lead  chan struct{} // closed to make the round's first caller its leader
	done  chan struct{} // closed when the round has run
	err   error
}

// GroupSyncStats counts a GroupSyncer's work.
type GroupSyncStats struct {
	Rounds int64 // vfs.SyncAll calls
	Files  int64 // files synced by them (Files/Rounds: the files per call)
}

// Stats returns the counters since the GroupSyncer was created.
func (g *GroupSyncer) Stats() GroupSyncStats {
	return GroupSyncStats{Rounds: g.rounds.Load(), Files: g.files.Load()}
}

// Sync makes f durable, with the files of the other callers of the same
// round.
func (g *GroupSyncer) Sync(f vfs.File) error {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &round{lead: make(chan struct{}), done: make(chan struct{})}
		g.next = r
	}
	first := len(r.files) == 0
	r.files = append(r.files, f)
	if first && !g.busy {
		g.busy = true
		close(r.lead)
	}
	g.mu.Unlock()

	if first {
		<-r.lead // the previous round hands over, or we lead at once
		g.run(r)
	}
	<-r.done
	return r.err
}

// run runs round r, then hands the next round, if any, to its first caller.
func (g *GroupSyncer) run(r *round) {
	g.mu.Lock()
	if g.next == r {
		g.next = nil // later callers form the next round
	}
	g.mu.Unlock()

	syncAll := g.syncAll
	if syncAll == nil {
		syncAll = vfs.SyncAll
	}
	r.err = syncAll(r.files)
	g.rounds.Add(1)
	g.files.Add(int64(len(r.files)))
	close(r.done)

	g.mu.Lock()
	if n := g.next; n != nil {
		close(n.lead) // its first caller is waiting on lead
	} else {
		g.busy = false
	}
	g.mu.Unlock()
}
