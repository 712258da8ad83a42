package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"octobase/oplog"
	"octobase/oplog/vfs"
)

// Store is a directory of workspaces, one subdirectory each (see
// escapeName for how names map to directories):
//
//	<dir>/LOCK                    held while the Store is open
//	<dir>/JOURNAL/                the store's journal (Options.Journal)
//	<dir>/<escaped name>/client-id  the workspace's CRDT client id
//	<dir>/<escaped name>/log/       its op-log and snapshots (package oplog)
//
// Workspaces are created on first use and opened lazily. A background
// goroutine (started by Open unless Options.IdleTimeout is negative) closes
// workspaces unused for IdleTimeout that have no subscribers; their handles
// stay valid and reopen on the next use. All methods are safe for
// concurrent use.
type Store struct {
	dir  string
	opts *resolved
	lock io.Closer

	mu struct {
		sync.Mutex
		ws     map[string]*Workspace
		closed bool
	}
	stop      chan struct{}
	janitor   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error

	loggedRecords, loggedBytes atomic.Int64 // acknowledged records since Open (Stats)
	indexNanos                 atomic.Int64 // index upkeep of the live views (Stats)
}

// StoreStats are counters of a Store since Open.
type StoreStats struct {
	// LoggedRecords and LoggedBytes count the records appended to the
	// workspaces' op-logs and acknowledged, and their payload bytes (the
	// yjs updates, before compression and framing).
	LoggedRecords, LoggedBytes int64
	// OpenWorkspaces is how many workspaces are open now, and
	// OpenLogBytes the size of their op-logs' segment files
	// (oplog.Stats.SegmentBytes; snapshots and closed workspaces aside).
	OpenWorkspaces int
	OpenLogBytes   int64
	// IndexTime is the time spent keeping the workspaces' indexes in step
	// with their blocks since Open (engine/index.go): queuing each changed
	// block's entry, and applying the queued batches, whether a writer or
	// a reader (ReadView.Index) applies them. Recovery's rebuilds are not
	// counted.
	IndexTime time.Duration
	// SyncRounds and SyncedLogs count, with Options.GroupSync or
	// Options.Journal, the rounds of shared fsyncs (each one syncfs, or
	// one fsync of the journal) and the log commits they served
	// (SyncedLogs / SyncRounds: logs per round); zero without either.
	SyncRounds, SyncedLogs int64
	// JournalCheckpoints counts, with Options.Journal, the journal files
	// replaced after fsyncing the segments they covered.
	JournalCheckpoints int64
	// LogSyncs is how many times the workspaces' op-logs made their
	// segment files durable since Open (oplog.Stats.Syncs, summed over
	// every log the store opened): each an fsync, or with GroupSync a wait
	// for a shared round.
	LogSyncs int64
}

// Stats returns the store's counters.
func (s *Store) Stats() StoreStats {
	st := StoreStats{LoggedRecords: s.loggedRecords.Load(), LoggedBytes: s.loggedBytes.Load(),
		IndexTime: time.Duration(s.indexNanos.Load()), LogSyncs: s.opts.LogOptions.SyncCount.Load()}
	if g := s.opts.syncer(); g != nil {
		gs := g.Stats()
		st.SyncRounds, st.SyncedLogs = gs.Rounds, gs.Files
	}
	if j := s.opts.LogOptions.Journal; j != nil {
		js := j.Stats()
		st.SyncRounds, st.SyncedLogs, st.JournalCheckpoints = js.Rounds, js.Records, js.Checkpoints
	}
	s.mu.Lock()
	for _, w := range s.mu.ws {
		if live := w.live.Load(); live != nil {
			st.OpenWorkspaces++
			st.OpenLogBytes += live.log.Stats().SegmentBytes
		}
	}
	s.mu.Unlock()
	return st
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, opts *Options) (*Store, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if err := vfs.MkdirAllDurable(o.FS, dir); err != nil {
		return nil, fmt.Errorf("engine: create %s: %w", dir, err)
	}
	lock, err := o.FS.Lock(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("engine: lock %s: %w", dir, err)
	}
	if err := openJournal(dir, o); err != nil {
		lock.Close()
		return nil, err
	}
	s := &Store{dir: dir, opts: o, lock: lock, stop: make(chan struct{})}
	s.mu.ws = map[string]*Workspace{}
	if o.IdleTimeout > 0 {
		period := min(max(o.IdleTimeout/4, 10*time.Millisecond), time.Minute)
		s.janitor.Go(func() {
			t := time.NewTicker(period)
			defer t.Stop()
			for {
				select {
				case <-s.stop:
					return
				case <-t.C:
					s.CloseIdle(o.IdleTimeout)
				}
			}
		})
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Workspace returns the workspace name, creating it on disk if it does not
// exist, and opens it (recovering it from its snapshot and log tail).
// ErrInvalidName for a name that cannot be a workspace name (see
// MaxNameLen; any valid UTF-8 without control characters is accepted and
// escaped safely).
func (s *Store) Workspace(ctx context.Context, name string) (*Workspace, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.mu.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	w := s.mu.ws[name]
	if w == nil {
		w = &Workspace{s: s, name: name, dir: filepath.Join(s.dir, escapeName(name))}
		w.mu.subs = map[*Subscription]struct{}{}
		s.mu.ws[name] = w
	}
	s.mu.Unlock()
	w.touchUsed()
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.ensureLocked(); err != nil {
		return nil, err
	}
	return w, nil
}

// Workspaces returns the names of the workspaces on disk, sorted.
func (s *Store) Workspaces() ([]string, error) {
	entries, err := s.opts.FS.List(s.dir)
	if err != nil {
		return nil, fmt.Errorf("engine: list %s: %w", s.dir, err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := unescapeName(e); ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// CloseIdle closes the open workspaces that have no subscribers and were
// not used for at least idle (by Options.Clock), and returns how many it
// closed. The idle goroutine calls it; tests and tools may too.
func (s *Store) CloseIdle(idle time.Duration) int {
	s.mu.Lock()
	list := make([]*Workspace, 0, len(s.mu.ws))
	for _, w := range s.mu.ws {
		list = append(list, w)
	}
	s.mu.Unlock()
	now := s.opts.Clock().UnixNano()
	n := 0
	for _, w := range list {
		if w.refs.Load() > 0 || now-w.lastUsed.Load() < int64(idle) {
			continue
		}
		w.mu.Lock()
		if w.mu.st != nil && w.refs.Load() == 0 && len(w.mu.subs) == 0 && now-w.lastUsed.Load() >= int64(idle) {
			if err := w.closeStateLocked(); err != nil {
				s.opts.Logger.Error("engine: close idle workspace", "workspace", w.name, "err", err)
			} else {
				s.opts.Logger.Debug("engine: closed idle workspace", "workspace", w.name)
			}
			n++
		}
		w.mu.Unlock()
	}
	return n
}

// Close closes every workspace (waiting for background snapshots), ends
// every subscription (their Err is ErrClosed) and releases the directory.
// It is safe to call more than once; later calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.mu.closed = true
		list := make([]*Workspace, 0, len(s.mu.ws))
		for _, w := range s.mu.ws {
			list = append(list, w)
		}
		s.mu.Unlock()
		close(s.stop)
		s.janitor.Wait()
		var errs []error
		var subs []*Subscription
		for _, w := range list {
			w.mu.Lock()
			w.mu.closed = true
			if err := w.closeStateLocked(); err != nil {
				errs = append(errs, fmt.Errorf("engine: close workspace %q: %w", w.name, err))
			}
			for sub := range w.mu.subs {
				subs = append(subs, sub)
			}
			w.mu.Unlock()
		}
		for _, sub := range subs {
			sub.cancel(ErrClosed)
			<-sub.done
		}
		if j := s.opts.LogOptions.Journal; j != nil {
			if err := j.Close(); err != nil {
				errs = append(errs, fmt.Errorf("engine: close journal: %w", err))
			}
		}
		if err := s.lock.Close(); err != nil {
			errs = append(errs, err)
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// openJournal replays the store's journal, if a crash left one, and with
// Options.Journal opens it for the logs (o.LogOptions.Journal). It runs
// before any log opens (oplog.Journal).
func openJournal(dir string, o *resolved) error {
	if !o.Journal {
		// A clean Close leaves no journal file: nothing to replay.
		names, err := o.FS.List(filepath.Join(dir, oplog.JournalDir))
		if errors.Is(err, os.ErrNotExist) || err == nil && !slices.ContainsFunc(names, func(n string) bool {
			return strings.HasSuffix(n, oplog.JournalExt)
		}) {
			return nil
		}
	}
	j, _, err := oplog.OpenJournal(dir, &oplog.JournalOptions{FS: o.FS, Logger: o.Logger}) // it logs what it replayed
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	if !o.Journal {
		return j.Close() // replayed and emptied
	}
	o.LogOptions.Journal = j
	return nil
}
