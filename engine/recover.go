package engine

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"octobase/engine/crdt"
	"octobase/index"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// clientIDFile holds a workspace's client id, in decimal, in its directory.
const clientIDFile = "client-id"

// openStateLocked opens the workspace from disk, creating it if needed:
// client id, op-log, then recovery: the latest snapshot (the v1-encoded
// state as of LSN n) followed by every record after n. Views are built from
// the snapshot state in one pass, then maintained incrementally through the
// tail. Records after the last LSN subscribers were given (a record whose
// append failed but reached the disk) are published to them.
func (w *Workspace) openStateLocked() (*wsState, error) {
	o := w.s.opts
	start := time.Now()
	if err := vfs.MkdirAllDurable(o.FS, w.dir); err != nil {
		return nil, fmt.Errorf("engine: create workspace %q: %w", w.name, err)
	}
	clientID, err := w.loadClientID()
	if err != nil {
		return nil, err
	}
	l, err := oplog.Open(logDir(w.dir), o.logOptions())
	if err != nil {
		return nil, fmt.Errorf("engine: workspace %q: %w", w.name, err)
	}
	st := &wsState{log: l, clientID: clientID, replaying: true}
	if err := w.recover(st); err != nil {
		l.Close()
		return nil, fmt.Errorf("engine: recover workspace %q: %w", w.name, err)
	}
	st.replaying = false
	if w.mu.published < st.lsn {
		w.mu.published = st.lsn
	}
	o.Logger.Debug("engine: workspace opened", "workspace", w.name, "lsn", st.lsn,
		"tail", st.sinceRecords, "duration", time.Since(start))
	w.maybeSnapshotLocked(st)
	return st, nil
}

func (w *Workspace) recover(st *wsState) error {
	doc, err := crdt.NewDoc(crdt.Options{ClientID: st.clientID, NewClientID: st.newClientID})
	if err != nil {
		return err
	}
	st.doc = doc
	// Change detection for Apply. (Not OnUpdate: it would re-encode every
	// applied update, the snapshot included; Transact registers one.)
	doc.OnAfterTransaction(func(tx *crdt.Txn) {
		st.changed = st.changed || tx.Changed()
	})

	var base oplog.LSN
	snap, err := st.log.LatestSnapshot()
	switch {
	case err == nil:
		if err := doc.ApplyUpdate(snap.Data, nil); err != nil {
			return fmt.Errorf("%w: snapshot at LSN %d: %w", ErrBadState, snap.LSN, err)
		}
		base = snap.LSN
	case !errors.Is(err, oplog.ErrNoSnapshot):
		return err
	}
	st.tr = newTracker(doc)
	st.tr.checkRoots()
	// Indexes persisted at the snapshot's LSN (engine/index.go) are
	// loaded; those missing, stale or damaged are rebuilt from the views.
	var loaded map[string]*index.Index
	if base > 0 {
		var err error
		if loaded, err = loadIndexes(w.s.opts.FS, w.dir, base); err != nil {
			w.s.opts.Logger.Warn("engine: persisted index ignored; rebuilding it", "workspace", w.name, "err", err)
		}
	}
	st.views = buildViewsWith(st.tr, base, loaded)
	st.views.ixNanos = &w.s.indexNanos
	st.tr.on = true
	st.lsn = base

	r, err := st.log.NewReader(base + 1)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if rec.LSN != st.lsn+1 {
			return fmt.Errorf("%w: record %d follows %d", ErrBadState, rec.LSN, st.lsn)
		}
		if err := doc.ApplyUpdate(rec.Data, rec.Origin); err != nil {
			return fmt.Errorf("%w: record %d: %w", ErrBadState, rec.LSN, err)
		}
		st.tr.checkRoots()
		t := st.tr.take()
		st.views.apply(makeDelta(st.tr, st.views, &t, rec.LSN, nil))
		if rec.LSN > w.mu.published && len(w.mu.subs) > 0 {
			w.publishLocked(Change{LSN: rec.LSN, Time: time.Unix(0, rec.Time), Origin: rec.Origin, Blocks: st.tr.changes(&t), Update: rec.Data})
		}
		st.lsn = rec.LSN
		st.sinceRecords++
		st.sinceBytes += int64(len(rec.Data))
	}
	return nil
}

// newClientID is the document's crdt.Options.NewClientID: the CRDT asks for
// a new id when a non-local transaction added edits under the current one.
// Replaying our own log does that for every local record, and must keep
// the id; a live remote update doing it means another replica used our id,
// so we switch to a fresh random one (persisted by checkClientIDLocked).
func (st *wsState) newClientID(old uint64) uint64 {
	if st.replaying {
		return old
	}
	id, err := randomClientID()
	if err != nil {
		return old%(1<<32) + 1
	}
	return id
}

// loadClientID reads the workspace's client id, choosing and persisting
// one (Options.ClientID) the first time.
func (w *Workspace) loadClientID() (uint64, error) {
	fs := w.s.opts.FS
	path := filepath.Join(w.dir, clientIDFile)
	f, err := fs.Open(path)
	if err == nil {
		defer f.Close()
		size, err := f.Size()
		if err != nil {
			return 0, fmt.Errorf("engine: read %s: %w", path, err)
		}
		if size > 64 {
			return 0, fmt.Errorf("%w: %s holds %d bytes", ErrBadState, path, size)
		}
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, 0); err != nil && err != io.EOF {
			return 0, fmt.Errorf("engine: read %s: %w", path, err)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(string(buf)), 10, 64)
		if err == nil {
			err = validClientID(id)
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %w", ErrBadState, path, err)
		}
		return id, nil
	}
	if !vfs.IsNotExist(err) {
		return 0, fmt.Errorf("engine: open %s: %w", path, err)
	}
	id, err := w.s.opts.ClientID(w.name)
	if err != nil {
		return 0, fmt.Errorf("engine: client id for %q: %w", w.name, err)
	}
	if err := validClientID(id); err != nil {
		return 0, err
	}
	if err := writeClientID(fs, w.dir, id); err != nil {
		return 0, err
	}
	return id, nil
}

// writeClientID stores id atomically: temporary file, fsync, rename,
// directory fsync.
func writeClientID(fs vfs.FS, dir string, id uint64) error {
	path := filepath.Join(dir, clientIDFile)
	err := vfs.WriteFileAtomic(fs, path, func(w io.Writer) error {
		_, err := io.WriteString(w, strconv.FormatUint(id, 10)+"\n")
		return err
	}, true)
	if err != nil {
		return fmt.Errorf("engine: write %s: %w", path, err)
	}
	return nil
}
