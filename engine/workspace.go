package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
)

// Workspace is one collaborative document: a crdt.Doc recovered from its
// op-log, the materialized views of its blocks, and its subscribers.
//
// A *Workspace is a handle that stays valid for the life of its Store: the
// state behind it is opened lazily, closed when idle, and reopened from disk
// after a failure, transparently. All methods are safe for concurrent use.
type Workspace struct {
	s    *Store
	name string
	dir  string

	mu struct {
		sync.Mutex
		st        *wsState // nil while closed
		closed    bool     // the store is closed
		subs      map[*Subscription]struct{}
		published oplog.LSN // last LSN delivered to subscribers' queues
	}
	// live is mu.st while it is open and healthy: readers load it without
	// taking mu (which a writer holds across its fsync).
	live     atomic.Pointer[wsState]
	lastUsed atomic.Int64 // Clock().UnixNano() of the last use
	refs     atomic.Int64 // subscriptions and running ReadAt calls: not idle
}

// wsState is an open workspace. Guarded by Workspace.mu, except views
// (its own lock) and the fields documented otherwise.
type wsState struct {
	log      *oplog.Log
	doc      *crdt.Doc
	tr       *tracker
	views    *views
	clientID uint64
	lsn      oplog.LSN // last record acknowledged and published (in the views)
	lastTime int64     // time of record assigned (Unix ns); 0: not read yet

	// Group commit. A write integrates its update and assigns its record
	// an LSN under Workspace.mu (oplog.AppendAsync), then waits for
	// durability without the lock, so concurrent writers share fsyncs.
	// Records in flight (assigned, not yet published) wait in queue, in LSN
	// order; ahead holds the newest version of the blocks they changed, for
	// the next deltas to patch (the views lag behind the document by
	// exactly the queue).
	assigned    oplog.LSN     // last LSN assigned: what doc holds (≥ lsn)
	lastPending oplog.Pending // the append of record assigned, if > lsn
	queue       []inflight
	ahead       map[touchKey]aheadBlock

	changed   bool  // a transaction of the current call changed doc
	replaying bool  // recovering: keep the client id on our own records
	broken    error // doc is ahead of the log: reopen before any use

	sinceRecords int   // records logged since the last snapshot
	sinceBytes   int64 // their bytes
	snapping     atomic.Bool
	snapWG       sync.WaitGroup
	// snapRunning counts the snapshot writes in progress (the op-log
	// snapshot, then the index files beside it) and snapDone those
	// finished, so that a reader of the persisted files (CheckIndex) can
	// tell it read the files of one snapshot (persistedStable).
	snapRunning atomic.Int32
	snapDone    atomic.Uint64
}

// snapshotWrite runs fn, which writes a snapshot and its index files,
// counted by snapRunning and snapDone.
func (st *wsState) snapshotWrite(fn func()) {
	st.snapRunning.Add(1)
	defer func() {
		st.snapDone.Add(1) // before running drops: see persistedStable
		st.snapRunning.Add(-1)
	}()
	fn()
}

// persistedStable calls read until no snapshot write ran while it did, so
// that what read saw of the snapshots and index files on disk belongs to
// one snapshot.
func (st *wsState) persistedStable(ctx context.Context, read func() error) error {
	for {
		done := st.snapDone.Load()
		if st.snapRunning.Load() == 0 {
			if err := read(); err != nil {
				return err
			}
			if st.snapRunning.Load() == 0 && st.snapDone.Load() == done {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
}

// inflight is a logged record waiting for durability before its delta
// is applied to the views and its change published.
type inflight struct {
	delta  *delta
	change Change
	owned  bool // change.Update is the engine's own (not the caller's) buffer
}

// aheadBlock is a block as a record in flight left it (nil: deleted).
type aheadBlock struct {
	b   *block
	lsn oplog.LSN
}

// Name returns the workspace's name.
func (w *Workspace) Name() string { return w.name }

func (w *Workspace) touchUsed() { w.lastUsed.Store(w.s.opts.Clock().UnixNano()) }

// ensureLocked returns the open state, opening (or, after a failure,
// reopening) it from disk.
func (w *Workspace) ensureLocked() (*wsState, error) {
	if w.mu.closed {
		return nil, ErrClosed
	}
	if st := w.mu.st; st != nil {
		if st.broken == nil {
			return st, nil
		}
		w.s.opts.Logger.Warn("engine: reopening workspace after a failure", "workspace", w.name, "err", st.broken)
		w.closeStateLocked()
	}
	st, err := w.openStateLocked()
	if err != nil {
		return nil, err
	}
	st.assigned, st.ahead = st.lsn, map[touchKey]aheadBlock{}
	w.mu.st = st
	w.live.Store(st)
	return st, nil
}

// closeStateLocked closes the open state, if any.
func (w *Workspace) closeStateLocked() error {
	st := w.mu.st
	if st == nil {
		return nil
	}
	w.mu.st = nil
	w.live.Store(nil)
	if st.broken == nil {
		w.drainLocked(st) // a failure breaks st: no snapshot below
	}
	st.snapWG.Wait()
	// A clean close snapshots what was logged since the last snapshot, so
	// the next open replays no tail. A failure only costs recovery time.
	if st.broken == nil && st.sinceRecords > 0 && st.lsn > 0 {
		if err := w.writeSnapshot(st.log, st.lsn, st.doc.EncodeStateAsUpdate(nil)); err != nil {
			w.s.opts.Logger.Error("engine: snapshot on close", "workspace", w.name, "lsn", st.lsn, "err", err)
		} else {
			w.persistIndexes(st.lsn, st.indexesAt(st.lsn))
		}
	}
	err := st.log.Close()
	if st.broken != nil {
		return nil // the failure was reported when it happened
	}
	return err
}

// breakLocked marks st broken: its document holds changes the log may not.
// The next use reopens the workspace from disk. The views hold only
// acknowledged changes, so readers already holding them see no
// unacknowledged data.
func (w *Workspace) breakLocked(st *wsState, err error) {
	st.broken = err
	w.live.Store(nil)
	w.s.opts.Logger.Error("engine: workspace broken; it will be reopened from disk", "workspace", w.name, "err", err)
}

// acquire keeps the workspace from being closed as idle until release.
func (w *Workspace) acquire() { w.refs.Add(1) }
func (w *Workspace) release() { w.refs.Add(-1); w.touchUsed() }

func checkOrigin(origin string) error {
	if len(origin) > oplog.MaxOriginLen {
		return fmt.Errorf("engine: origin of %d bytes: %w", len(origin), oplog.ErrOriginTooLong)
	}
	return nil
}

// Apply integrates a yjs v1 update (from a client or a peer) and appends it
// to the op-log, returning its LSN once the append is acknowledged (durable
// per Options.Durability).
//
//   - A malformed update returns the crdt error (wrapping
//     crdt.ErrMalformed or crdt.ErrUnsupported); nothing changed and
//     nothing was logged.
//   - A pure duplicate, one that changed nothing and left nothing pending,
//     is not logged: Apply returns the current last LSN, which covers its
//     content, and subscribers see no change. An update that only adds to
//     or fills pending structs is logged.
//   - If the append fails, the document is ahead of the log: the workspace
//     is marked broken, the error returned, and the next use of the
//     workspace reopens it from disk, so nothing unacknowledged is served.
//     (As with any database whose commit outcome is unknown, the failed
//     record may or may not be found in the log then.)
//
// The logged record holds the update's exact bytes, with origin (at most
// oplog.MaxOriginLen bytes) and the time from Options.Clock.
func (w *Workspace) Apply(ctx context.Context, update []byte, origin string) (oplog.LSN, error) {
	if err := w.checkApply(ctx, update, origin); err != nil {
		return 0, err
	}
	return w.apply(update, origin, false)
}

// checkApply is what every Apply variant checks before taking the lock.
func (w *Workspace) checkApply(ctx context.Context, update []byte, origin string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkOrigin(origin); err != nil {
		return err
	}
	if len(update) > w.s.opts.maxRecord {
		return fmt.Errorf("engine: update of %d bytes: %w", len(update), oplog.ErrRecordTooLarge)
	}
	return nil
}

// ApplyComplete is Apply for updates from untrusted clients: an update that
// would not integrate completely, one that refers to or deletes changes
// neither the workspace nor the update holds (which Apply keeps pending
// until they arrive), is refused with ErrMissingDeps (naming the first
// missing id) before anything changes or is logged. A y-protocols peer
// answers a SyncStep1 with everything the workspace lacks, so a server can
// reply to the refusal with its state vector and get the missing changes.
func (w *Workspace) ApplyComplete(ctx context.Context, update []byte, origin string) (oplog.LSN, error) {
	if err := w.checkApply(ctx, update, origin); err != nil {
		return 0, err
	}
	return w.apply(update, origin, true)
}

// ApplyAsync is Apply split in two, for callers that apply a stream of
// updates in order and want them to share fsyncs (replication consumers):
// it integrates update and queues its record, returning once the LSN is
// assigned, and the returned wait blocks until the record is acknowledged
// (it returns what Apply would). Updates passed to successive ApplyAsync
// calls are logged in call order. update must not be modified until wait
// returns; wait must be called (once).
func (w *Workspace) ApplyAsync(ctx context.Context, update []byte, origin string) (wait func() (oplog.LSN, error), err error) {
	return w.applyAsync(ctx, update, origin, false)
}

// ApplyCompleteAsync is ApplyComplete split in two as ApplyAsync is: for
// a server reading a client's updates one after another, which need not
// wait for one to be durable before integrating the next, so that they
// share fsyncs. Subscribers see each change once it is durable, as with
// ApplyComplete; until the wait is called, that is as soon as any other
// caller waits or reads the document.
func (w *Workspace) ApplyCompleteAsync(ctx context.Context, update []byte, origin string) (wait func() (oplog.LSN, error), err error) {
	return w.applyAsync(ctx, update, origin, true)
}

func (w *Workspace) applyAsync(ctx context.Context, update []byte, origin string, complete bool) (wait func() (oplog.LSN, error), err error) {
	if err := w.checkApply(ctx, update, origin); err != nil {
		return nil, err
	}
	w.touchUsed()
	w.mu.Lock()
	st, p, err := w.applyLocked(update, origin, complete)
	w.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if st == nil {
		lsn := p.LSN()
		return func() (oplog.LSN, error) { return lsn, nil }, nil
	}
	return func() (oplog.LSN, error) { return w.finish(st, p) }, nil
}

func (w *Workspace) apply(update []byte, origin string, complete bool) (oplog.LSN, error) {
	w.touchUsed()
	w.mu.Lock()
	st, p, err := w.applyLocked(update, origin, complete)
	w.mu.Unlock()
	if err != nil || st == nil {
		return p.LSN(), err
	}
	return w.finish(st, p)
}

// applyLocked integrates update and queues its record (with complete,
// only if nothing of it would stay pending). It returns the
// state and the pending append to finish, or (nil, a Pending whose LSN is
// the answer, nil) when there is nothing to wait for.
func (w *Workspace) applyLocked(update []byte, origin string, complete bool) (*wsState, oplog.Pending, error) {
	st, err := w.ensureLocked()
	if err != nil {
		return nil, oplog.Pending{}, err
	}
	pending := st.doc.HasPending()
	st.changed = false
	if err := applyUpdate(st.doc, update, origin, complete); err != nil {
		st.tr.take()
		if errors.Is(err, errPanic) {
			w.breakLocked(st, err)
		}
		return nil, oplog.Pending{}, err
	}
	st.tr.checkRoots()
	if !st.changed && !pending && !st.doc.HasPending() {
		st.tr.take()
		return w.unchangedLocked(st)
	}
	p, err := w.commitLocked(st, update, false, origin, w.s.opts.Clock())
	return st, p, err
}

// unchangedLocked answers a write that changed nothing: the last LSN,
// which covers its content, once that record is durable.
func (w *Workspace) unchangedLocked(st *wsState) (*wsState, oplog.Pending, error) {
	if st.assigned > st.lsn {
		return st, st.lastPending, nil
	}
	return nil, oplog.PendingDone(st.lsn), nil
}

// errPanic marks a panic of the CRDT while integrating an update: a bug
// (the crdt promises errors, never panics, on bad input) that leaves the
// document in an unknown state, so the workspace is reopened from disk.
var errPanic = errors.New("engine: crdt panicked")

// applyUpdate applies update to doc; with complete, only if it would
// integrate completely (ErrMissingDeps otherwise, changing nothing).
func applyUpdate(doc *crdt.Doc, update []byte, origin string, complete bool) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w applying an update: %v", errPanic, p)
		}
	}()
	if !complete {
		return doc.ApplyUpdate(update, origin)
	}
	id, missing, err := doc.ApplyUpdateComplete(update, origin)
	if err == nil && missing {
		err = fmt.Errorf("%w: %v", ErrMissingDeps, id)
	}
	return err
}

// ApplyV2 is Apply for a yjs v2 update; it is converted to v1, which is
// what the op-log stores.
func (w *Workspace) ApplyV2(ctx context.Context, update []byte, origin string) (oplog.LSN, error) {
	v1, err := crdt.ConvertUpdateV2ToV1(update)
	if err != nil {
		return 0, err
	}
	return w.Apply(ctx, v1, origin)
}

// Transact runs fn inside one CRDT transaction on the workspace's
// document, then appends the update the transaction produced to the op-log
// and returns its LSN once the append is acknowledged. fn gets the
// transaction and a Blocks for the default space (Blocks.Space for others).
//
// A transaction that changes nothing logs nothing and returns the current
// last LSN. If fn returns an error (or panics) after changing the document,
// the change is rolled back: the CRDT cannot undo a transaction, so the
// workspace discards its in-memory state and reopens it from disk on its
// next use; fn's error is returned (the panic continues). If the append
// fails, the workspace breaks as in Apply.
//
// fn runs with the workspace lock held: it must not call methods of this
// Workspace, and should be quick.
func (w *Workspace) Transact(ctx context.Context, origin string, fn func(tx *crdt.Txn, b *Blocks) error) (oplog.LSN, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkOrigin(origin); err != nil {
		return 0, err
	}
	w.touchUsed()
	st, p, err := func() (*wsState, oplog.Pending, error) {
		w.mu.Lock()
		defer w.mu.Unlock() // also when fn panics
		return w.transactLocked(origin, fn)
	}()
	if err != nil || st == nil {
		return p.LSN(), err
	}
	return w.finish(st, p)
}

// transactLocked runs fn and queues the record of what it changed, like
// applyLocked. A panic of fn continues after the state is broken.
func (w *Workspace) transactLocked(origin string, fn func(tx *crdt.Txn, b *Blocks) error) (*wsState, oplog.Pending, error) {
	st, err := w.ensureLocked()
	if err != nil {
		return nil, oplog.Pending{}, err
	}
	now := w.s.opts.Clock()
	var updates [][]byte
	cancel := st.doc.OnUpdate(func(u []byte, _ *crdt.Txn) { updates = append(updates, append([]byte(nil), u...)) })
	defer cancel()
	var fnErr error
	var panicked any
	st.doc.Transact(origin, func(tx *crdt.Txn) {
		defer func() {
			if p := recover(); p != nil {
				panicked = p
			}
		}()
		b, err := newBlocks(tx, st.tr, DefaultSpace, now.UnixMilli(), w.s.opts.NewBlockID)
		if err != nil {
			fnErr = err
			return
		}
		fnErr = fn(tx, b)
	})
	cancel()
	st.tr.checkRoots()
	changed := len(updates) > 0
	if panicked != nil || fnErr != nil {
		st.tr.take()
		if changed {
			cause := fnErr
			if panicked != nil {
				cause = fmt.Errorf("panic: %v", panicked)
			}
			w.breakLocked(st, fmt.Errorf("engine: transaction rolled back: %w", cause))
		}
		if panicked != nil {
			panic(panicked)
		}
		return nil, oplog.Pending{}, fnErr
	}
	if !changed {
		st.tr.take()
		return w.unchangedLocked(st)
	}
	data := updates[0]
	if len(updates) > 1 {
		if data, err = crdt.MergeUpdates(updates); err != nil {
			w.breakLocked(st, err)
			return nil, oplog.Pending{}, err
		}
	}
	p, err := w.commitLocked(st, data, true, origin, now)
	return st, p, err
}

// commitLocked queues the record of the update just integrated into
// st.doc (data; owned says whether the engine may keep it past the call)
// and returns its pending append. Its delta and change wait in st.queue
// until the record is durable (publishUpToLocked, E3).
func (w *Workspace) commitLocked(st *wsState, data []byte, owned bool, origin string, now time.Time) (oplog.Pending, error) {
	t := st.tr.take()
	lsn := st.assigned + 1
	d := makeDelta(st.tr, st.views, &t, lsn, st.ahead)
	rec := oplog.Record{Data: data, Time: st.nextRecordTime(now), Origin: origin}
	p, err := st.log.AppendAsync(rec)
	if err == nil && p.LSN() != lsn {
		err = fmt.Errorf("engine: op-log assigned LSN %d after %d: another writer?", p.LSN(), st.assigned)
	}
	if err != nil {
		w.breakLocked(st, err)
		return oplog.Pending{}, err
	}
	st.assigned, st.lastPending, st.lastTime = lsn, p, rec.Time
	for _, op := range d.blocks {
		st.ahead[touchKey{op.space, op.id}] = aheadBlock{op.b, lsn}
	}
	st.queue = append(st.queue, inflight{delta: d, owned: owned, change: Change{
		LSN: lsn, Time: time.Unix(0, rec.Time), Origin: origin, Blocks: st.tr.changes(&t), Update: data}})
	w.checkClientIDLocked(st)
	return p, nil
}

// finish waits for p's record to be durable, then publishes it (and the
// records before it that are still queued) unless another writer did, and
// returns its LSN. The wait ignores the caller's context: the record is
// queued and will be written; an error is the append's.
func (w *Workspace) finish(st *wsState, p oplog.Pending) (oplog.LSN, error) {
	lsn, err := p.Wait(context.Background())
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		if w.mu.st == st && st.broken == nil {
			w.breakLocked(st, err)
		}
		return 0, err
	}
	// If st was closed or broken meanwhile, the record is durable all the
	// same: the next open replays and publishes it.
	if w.mu.st == st && st.broken == nil {
		w.publishUpToLocked(st, lsn)
	}
	return lsn, nil
}

// drainLocked waits, holding the lock, until every record in flight is
// durable and published (false if an append failed: st is then broken).
// Readers of the document use it so nothing unacknowledged is served (E3).
func (w *Workspace) drainLocked(st *wsState) bool {
	if st.assigned == st.lsn {
		return true
	}
	lsn, err := st.lastPending.Wait(context.Background())
	if err != nil {
		w.breakLocked(st, err)
		return false
	}
	w.publishUpToLocked(st, lsn)
	return true
}

// publishUpToLocked applies the deltas of the queued records up to lsn (all
// durable) to the views and publishes their changes, in LSN order.
func (w *Workspace) publishUpToLocked(st *wsState, lsn oplog.LSN) {
	n := 0
	for n < len(st.queue) && st.queue[n].change.LSN <= lsn {
		n++
	}
	if n == 0 {
		return
	}
	done := st.queue[:n]
	st.views.mu.Lock()
	for _, c := range done {
		st.views.apply(c.delta)
	}
	st.views.mu.Unlock()
	for i := range done {
		c := &done[i]
		for _, op := range c.delta.blocks {
			k := touchKey{op.space, op.id}
			if a, ok := st.ahead[k]; ok && a.lsn == c.change.LSN {
				delete(st.ahead, k)
			}
		}
		if !c.owned && len(w.mu.subs) > 0 {
			// Subscribers keep Change.Update; the caller may reuse its buffer.
			c.change.Update = bytes.Clone(c.change.Update)
		}
		w.publishLocked(c.change)
		st.lsn = c.change.LSN
		st.sinceRecords++
		st.sinceBytes += int64(len(c.change.Update))
		w.s.loggedRecords.Add(1)
		w.s.loggedBytes.Add(int64(len(c.change.Update)))
		*c = inflight{}
	}
	if n == len(st.queue) {
		st.queue = st.queue[:0] // the usual case: keep the array for the next records
	} else {
		st.queue = st.queue[n:]
	}
	w.maybeSnapshotLocked(st)
}

// checkClientIDLocked persists the document's client id if the CRDT
// changed it (a remote update carried edits made with our id).
func (w *Workspace) checkClientIDLocked(st *wsState) {
	id := st.doc.ClientID()
	if id == st.clientID {
		return
	}
	w.s.opts.Logger.Warn("engine: a remote update used this workspace's client id; switching ids",
		"workspace", w.name, "old", st.clientID, "new", id)
	if err := writeClientID(w.s.opts.FS, w.dir, id); err != nil {
		w.s.opts.Logger.Error("engine: persist client id", "workspace", w.name, "err", err)
		return
	}
	st.clientID = id
}

// maybeSnapshotLocked starts a background snapshot when the thresholds are
// reached. The state is encoded under the lock, so it is exactly the state
// as of st.assigned; writing it happens outside, once that is durable.
func (w *Workspace) maybeSnapshotLocked(st *wsState) {
	o := w.s.opts
	due := (o.SnapshotRecords > 0 && st.sinceRecords >= o.SnapshotRecords) ||
		(o.SnapshotBytes > 0 && st.sinceBytes >= o.SnapshotBytes)
	if !due || st.snapping.Load() {
		return
	}
	// The document holds every assigned record: the snapshot is of
	// st.assigned, written once that record is durable.
	// (During recovery st.assigned is not set yet: st.lsn is the state.)
	data, lsn := st.doc.EncodeStateAsUpdate(nil), max(st.assigned, st.lsn)
	wait := oplog.PendingDone(lsn)
	if st.assigned > st.lsn {
		wait = st.lastPending
	}
	ix := st.indexesAt(lsn) // nil while records are in flight
	st.sinceRecords, st.sinceBytes = 0, 0
	st.snapping.Store(true)
	st.snapWG.Go(func() {
		defer st.snapping.Store(false)
		if _, err := wait.Wait(context.Background()); err != nil {
			return // the append failed: reported by its writer
		}
		st.snapshotWrite(func() {
			if err := w.writeSnapshot(st.log, lsn, data); err != nil {
				o.Logger.Error("engine: background snapshot", "workspace", w.name, "lsn", lsn, "err", err)
				return
			}
			w.persistIndexes(lsn, ix)
		})
	})
}

func (w *Workspace) writeSnapshot(l *oplog.Log, lsn oplog.LSN, data []byte) error {
	if err := l.WriteSnapshot(lsn, data); err != nil {
		return err
	}
	if r := w.s.opts.Retention; r != nil {
		if _, err := l.Compact(*r); err != nil {
			return fmt.Errorf("compact: %w", err)
		}
	}
	return nil
}

// Snapshot writes a snapshot of the current state now and returns its LSN
// (0 and no snapshot for an empty log). Background snapshots make this
// unnecessary; it serves tools, tests and a clean shutdown.
func (w *Workspace) Snapshot(ctx context.Context) (oplog.LSN, error) {
	w.acquire()
	defer w.release()
	w.mu.Lock()
	st, err := w.ensureLocked()
	if err == nil && !w.drainLocked(st) {
		err = st.broken
	}
	if err != nil {
		w.mu.Unlock()
		return 0, err
	}
	data, lsn, l := st.doc.EncodeStateAsUpdate(nil), st.lsn, st.log
	ix := st.indexesAt(lsn)
	st.sinceRecords, st.sinceBytes = 0, 0
	w.mu.Unlock()
	if lsn == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	st.snapshotWrite(func() {
		if err = w.writeSnapshot(l, lsn, data); err == nil {
			w.persistIndexes(lsn, ix)
		}
	})
	return lsn, err
}

// views returns the live views, opening the workspace if needed.
func (w *Workspace) liveViews() (*views, error) {
	w.touchUsed()
	if st := w.live.Load(); st != nil {
		return st.views, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.ensureLocked()
	if err != nil {
		return nil, err
	}
	return st.views, nil
}

// View calls fn with a view of the default space as of the last
// acknowledged change, consistent for the duration of fn (writers that
// finish meanwhile wait to publish until fn returns). The view is valid only
// inside fn, and fn must not write to this workspace (the write would wait
// for fn). Use ReadView.Space for other spaces.
func (w *Workspace) View(ctx context.Context, fn func(v *ReadView) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, err := w.liveViews()
	if err != nil {
		return err
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return fn(&ReadView{v: v, space: DefaultSpace})
}

// Get returns block id of the default space, as of the last acknowledged
// change.
func (w *Workspace) Get(ctx context.Context, id BlockID) (b BlockView, ok bool, err error) {
	err = w.View(ctx, func(v *ReadView) error {
		b, ok = v.Get(id)
		return nil
	})
	return b, ok, err
}

// LastLSN returns the LSN of the last change integrated and acknowledged.
func (w *Workspace) LastLSN(ctx context.Context) (oplog.LSN, error) {
	var lsn oplog.LSN
	err := w.View(ctx, func(v *ReadView) error { lsn = v.LSN(); return nil })
	return lsn, err
}

// withDoc runs fn with the open state, under the workspace lock.
func (w *Workspace) withDoc(ctx context.Context, fn func(st *wsState) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.touchUsed()
	w.mu.Lock()
	defer w.mu.Unlock()
	st, err := w.ensureLocked()
	if err != nil {
		return err
	}
	if !w.drainLocked(st) {
		return st.broken
	}
	return fn(st)
}

// StateVector returns the document's encoded state vector (y-sync step 1).
func (w *Workspace) StateVector(ctx context.Context) ([]byte, error) {
	var sv []byte
	err := w.withDoc(ctx, func(st *wsState) error {
		sv = crdt.EncodeStateVector(st.doc.StateVector())
		return nil
	})
	return sv, err
}

// EncodeStateAsUpdate returns, as a v1 update, what a peer with the
// encoded state vector sv lacks (everything for an empty sv): y-sync step 2.
func (w *Workspace) EncodeStateAsUpdate(ctx context.Context, sv []byte) ([]byte, error) {
	var target crdt.StateVector
	if len(sv) > 0 {
		var err error
		if target, err = crdt.DecodeStateVector(sv); err != nil {
			return nil, err
		}
	}
	var u []byte
	err := w.withDoc(ctx, func(st *wsState) error {
		u = st.doc.EncodeStateAsUpdate(target)
		return nil
	})
	return u, err
}

// ClientID returns the CRDT client id of the workspace's local edits.
func (w *Workspace) ClientID(ctx context.Context) (uint64, error) {
	var id uint64
	err := w.withDoc(ctx, func(st *wsState) error { id = st.doc.ClientID(); return nil })
	return id, err
}

// logDir is where a workspace's op-log lives.
func logDir(wsDir string) string { return filepath.Join(wsDir, "log") }

// retryClosed runs fn again (up to three times) when it fails because the
// state it read from was closed meanwhile (idle close, reopen after a
// failure).
func retryClosed(ctx context.Context, fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !errors.Is(err, oplog.ErrClosed) || ctx.Err() != nil {
			return err
		}
	}
	return err
}
