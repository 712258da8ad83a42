package oplog

import (
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"octobase/oplog/vfs"
)

// Log is an open op-log directory. All methods are safe for concurrent use.
// See the package documentation for the concurrency contract and lock order.
type Log struct {
	fs       vfs.FS
	dir      string
	opts     Options
	codec    codec
	lock     io.Closer
	recovery RecoveryStats

	// maintMu serializes WriteSnapshot and Compact. Lock order: maintMu,
	// then mu.
	maintMu sync.Mutex

	mu struct {
		sync.Mutex
		next     LSN           // the LSN the next appended record gets
		pending  *batch        // records waiting for the committer, or nil
		closing  bool          // Close has begun: appends are refused
		failed   error         // sticky write/fsync failure (wraps ErrFailed)
		gather   int           // appenders to wait for before waking the committer (0: wake at once)
		segments []segmentInfo // in LSN order; the last is the active one
	}

	kick      chan struct{} // capacity 1: wakes the committer
	done      chan struct{} // closed when the committer exits
	tail      atomic.Pointer[tailState]
	durable   atomic.Uint64 // last LSN known to be fsynced
	closeOnce sync.Once
	closeErr  error

	// w is owned by the committer goroutine (and by Open/Close around it).
	w struct {
		f     vfs.File
		first LSN   // the active segment's first LSN
		last  LSN   // last LSN written to it (first-1 if none)
		size  int64 // bytes written to it
		// alloc is the active segment's size on disk: size plus the
		// zeros reserved ahead of the writes (reserve); noAlloc is set
		// once the filesystem refused to reserve.
		alloc       int64
		noAlloc     bool
		maxTime     int64
		dirty       bool // written since the last fsync
		lastSync    time.Time
		lastSyncDur time.Duration
		buf         []byte // frame encoding buffer, reused
		// With Options.Journal: jpath names the active segment for the
		// journal, and jbuf holds the bytes written to it from offset
		// jstart on, not yet fsynced nor journaled.
		jpath  string
		jstart int64
		jbuf   []byte
	}

	stats struct {
		records, frames, syncs, bytes, rawBytes atomic.Int64
	}
}

// tailState is the visible end of the log, published by the committer after
// each commit and replaced (never mutated) on the next one. Readers use it
// to know how far they may read without taking a lock.
type tailState struct {
	lsn     LSN           // last visible LSN
	seg     LSN           // first LSN of the active segment
	off     int64         // visible bytes of the active segment
	closed  bool          // the log is closed
	changed chan struct{} // closed when this state is replaced
}

// Open opens the log in dir, creating it if needed, and recovers it: a torn
// tail at the end of the last segment is truncated (reported through
// Options.Logger and Recovery), and any other damage fails Open with a
// *CorruptError naming file and offset. A file written by a newer format
// fails with a *VersionError. The directory is locked until Close.
func Open(dir string, opts *Options) (*Log, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := vfs.MkdirAllDurable(o.FS, dir); err != nil {
		return nil, fmt.Errorf("oplog: create %s: %w", dir, err)
	}
	lock, err := o.FS.Lock(filepath.Join(dir, lockName))
	if err != nil {
		return nil, fmt.Errorf("oplog: lock %s: %w", dir, err)
	}
	l := &Log{fs: o.FS, dir: dir, opts: o, codec: codecFor(o.Compression), lock: lock,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	if err := l.open(); err != nil {
		lock.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

func (l *Log) open() error {
	ds, st, err := recoverDir(l.fs, l.dir, &l.opts)
	if err != nil {
		return err
	}
	l.recovery = st
	active := ds.segments[len(ds.segments)-1]
	f, err := l.fs.OpenAppend(filepath.Join(l.dir, active.name()))
	if err != nil {
		return fmt.Errorf("oplog: open active segment: %w", err)
	}
	// What recovery read may still sit only in the page cache (a process
	// crash in SyncNone mode): make it durable before building on it.
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("oplog: sync active segment: %w", err)
	}
	l.w.f, l.w.first, l.w.last, l.w.size, l.w.maxTime = f, active.first, active.last, active.size, active.maxTime
	if err := l.journalSegment(active.first, active.size); err != nil {
		f.Close()
		return err
	}
	l.w.alloc = active.size // recovery cut any zeros reserved past it
	l.w.lastSync = time.Now()
	l.mu.segments = ds.segments
	l.mu.next = active.last + 1
	l.durable.Store(uint64(active.last))
	l.tail.Store(&tailState{lsn: active.last, seg: active.first, off: active.size, changed: make(chan struct{})})
	return nil
}

// Close flushes and fsyncs every appended record, stops the committer and
// releases the directory. It waits for a running WriteSnapshot or Compact.
// Appends that race with Close either complete or fail with ErrClosed;
// readers fail with ErrClosed afterwards. If the log failed earlier (see
// ErrFailed), Close still releases everything and returns that failure: in
// SyncInterval and SyncNone modes it may be the only report that
// acknowledged records were not made durable. Close is idempotent: later
// calls return the first call's result.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.maintMu.Lock()
		defer l.maintMu.Unlock()
		l.mu.Lock()
		l.mu.closing = true
		b := l.pendingLocked()
		b.sync = true
		l.mu.Unlock()
		l.wake()
		<-l.done
		err := b.err
		if l.w.f != nil && err == nil && l.failedErr() == nil && (l.w.alloc > l.w.size || l.opts.Journal != nil) {
			// A closed log keeps no reserved zeros, and needs nothing
			// from the journal.
			if err = l.unreserve(); err == nil {
				if err = l.w.f.Sync(); err != nil {
					err = fmt.Errorf("oplog: sync %s: %w", segmentName(l.w.first), err)
				}
			}
		}
		if l.w.f != nil {
			if cerr := l.w.f.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("oplog: close segment: %w", cerr)
			}
		}
		if cerr := l.lock.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("oplog: unlock: %w", cerr)
		}
		old := l.tail.Load()
		st := *old
		st.closed, st.changed = true, make(chan struct{})
		l.tail.Store(&st)
		close(old.changed)
		l.closeErr = err
	})
	return l.closeErr
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// Recovery returns what Open found and repaired.
func (l *Log) Recovery() RecoveryStats { return l.recovery }

// LastLSN returns the LSN of the last acknowledged record: in SyncAlways
// mode the last fsynced one, otherwise the last written one. It is 0 for an
// empty log. Readers see exactly the records up to LastLSN.
func (l *Log) LastLSN() LSN { return l.tail.Load().lsn }

// FirstLSN returns the LSN of the oldest record still in the log (records
// before it were compacted away). If the log holds no records it is
// LastLSN()+1.
func (l *Log) FirstLSN() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.segments[0].first
}

// Stats are counters since Open.
type Stats struct {
	LastLSN    LSN   // last acknowledged record
	DurableLSN LSN   // last record known to be fsynced
	Records    int64 // records appended
	Frames     int64 // frames written
	Syncs      int64 // fsyncs of segment files
	Bytes      int64 // bytes written to segments (headers included)
	RawBytes   int64 // uncompressed frame payload bytes
	Segments   int   // segment files
	// SegmentBytes is the size of the segment files now (their valid
	// content, as of the last acknowledged append): what the log takes on
	// disk, snapshots aside.
	SegmentBytes int64
}

// Stats returns counters since Open.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	nseg := len(l.mu.segments)
	var segBytes int64
	for _, s := range l.mu.segments {
		segBytes += s.size
	}
	l.mu.Unlock()
	return Stats{
		SegmentBytes: segBytes,
		LastLSN:      l.LastLSN(),
		DurableLSN:   LSN(l.durable.Load()),
		Records:      l.stats.records.Load(),
		Frames:       l.stats.frames.Load(),
		Syncs:        l.stats.syncs.Load(),
		Bytes:        l.stats.bytes.Load(),
		RawBytes:     l.stats.rawBytes.Load(),
		Segments:     nseg,
	}
}

// segmentsSnapshot returns a copy of the segment list.
func (l *Log) segmentsSnapshot() []segmentInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]segmentInfo(nil), l.mu.segments...)
}
