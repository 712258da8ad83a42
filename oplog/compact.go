package oplog

import (
	"fmt"
	"path/filepath"
	"time"
)

// Retention is how much history Compact must keep reconstructible (time
// travel: a snapshot at or before the point, plus the records after it).
// The zero value keeps nothing beyond what the latest snapshot covers.
type Retention struct {
	// Records keeps the newest Records records reconstructible.
	Records uint64
	// Age keeps every record whose segment holds a record younger than Age
	// (by record Time, against Options.Clock) reconstructible, and the
	// state just before the oldest of them.
	Age time.Duration
}

// CompactStats reports what Compact removed.
type CompactStats struct {
	SegmentsRemoved  int
	SnapshotsRemoved int
	BytesRemoved     int64
	// FirstLSN is the first record still in the log afterwards.
	FirstLSN LSN
	// Boundary is the oldest LSN that retention requires to stay
	// reconstructible, and Snapshot the snapshot that anchors it (0: none,
	// so nothing was removed).
	Boundary, Snapshot LSN
}

// Compact removes whole segments that a snapshot covers and that retention
// does not need, oldest first, and then snapshots too old to be of use.
//
// Precisely: let B be the oldest LSN that must stay reconstructible under r
// (LastLSN+1 with a zero Retention), and S the newest snapshot with LSN ≤ B.
// Every sealed segment whose records all have LSN ≤ S is removed (S's state
// replaces them), then every snapshot older than the new FirstLSN-1. The
// active segment is never removed. S is read and verified before anything
// is removed. Each removal is made durable before the next, so a crash
// leaves a valid log.
//
// Readers positioned inside a removed segment keep reading it if they have
// it open; others get ErrCompacted.
func (l *Log) Compact(r Retention) (CompactStats, error) {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	var cs CompactStats
	if l.tail.Load().closed {
		return cs, ErrClosed
	}
	segs := l.segmentsSnapshot()
	last := l.LastLSN()
	cs.FirstLSN = segs[0].first

	b := last + 1
	if r.Records > 0 {
		if r.Records >= uint64(last) {
			b = 1
		} else {
			b = min(b, last-LSN(r.Records)+1)
		}
	}
	if r.Age > 0 {
		cutoff := l.opts.Clock().Add(-r.Age).UnixNano()
		for _, s := range segs {
			if s.last >= s.first && s.maxTime >= cutoff {
				b = min(b, max(s.first-1, 1))
				break
			}
		}
	}
	cs.Boundary = b

	snaps, err := l.Snapshots()
	if err != nil {
		return cs, err
	}
	var anchor LSN
	for _, s := range snaps {
		if s <= b {
			anchor = s
		}
	}
	if anchor == 0 || anchor < segs[0].last {
		return cs, nil // nothing covered
	}
	// Never drop history on the word of a damaged snapshot.
	if _, err := readSnapshot(l.fs, l.dir, anchor); err != nil {
		return cs, fmt.Errorf("oplog: compact: %w", err)
	}
	cs.Snapshot = anchor

	for _, s := range segs[:len(segs)-1] {
		if s.last > anchor {
			break
		}
		l.mu.Lock()
		l.mu.segments = l.mu.segments[1:] // readers stop finding it first
		l.mu.Unlock()
		if err := l.fs.Remove(filepath.Join(l.dir, s.name())); err != nil {
			return cs, fmt.Errorf("oplog: compact: remove %s: %w", s.name(), err)
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return cs, fmt.Errorf("oplog: compact: sync dir: %w", err)
		}
		cs.SegmentsRemoved++
		cs.BytesRemoved += s.size
		cs.FirstLSN = s.last + 1
	}
	for _, s := range snaps {
		if s+1 >= cs.FirstLSN {
			break
		}
		if err := l.fs.Remove(filepath.Join(l.dir, snapshotName(s))); err != nil {
			return cs, fmt.Errorf("oplog: compact: remove snapshot: %w", err)
		}
		cs.SnapshotsRemoved++
	}
	if cs.SnapshotsRemoved > 0 {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return cs, fmt.Errorf("oplog: compact: sync dir: %w", err)
		}
	}
	if cs.SegmentsRemoved > 0 || cs.SnapshotsRemoved > 0 {
		l.opts.Logger.Info("oplog: compacted", "segments", cs.SegmentsRemoved, "snapshots", cs.SnapshotsRemoved,
			"bytes", cs.BytesRemoved, "first_lsn", cs.FirstLSN, "snapshot", anchor, "boundary", b)
	}
	return cs, nil
}
