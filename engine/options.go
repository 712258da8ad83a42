package engine

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"octobase/engine/crdt"
	"octobase/oplog"
	"octobase/oplog/vfs"
)

// Defaults for zero Options fields.
const (
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultSnapshotRecords  = 10_000
	DefaultSnapshotBytes    = 32 << 20
	DefaultSubscriberBuffer = 1024
)

// Options configures a Store. The zero value (or a nil *Options) is valid;
// each field documents what its zero value means.
type Options struct {
	// FS is the filesystem for everything the store writes (op-logs,
	// snapshots, client id files); nil means vfs.Default, the OS
	// filesystem. Tests pass vfs.NewCrashableMem or a vfs.ErrorFS.
	FS vfs.FS
	// Durability is passed to every workspace's op-log: when Apply and
	// Transact return. Zero means oplog.SyncAlways (fsynced).
	Durability oplog.Durability
	// LogOptions is a template for the op-logs' other settings (segment and
	// frame size, compression, sync interval, record size limit). Its FS,
	// Durability, Clock and Logger are replaced by the fields above and
	// below.
	LogOptions oplog.Options
	// GroupSync makes the workspaces' op-logs share their fsyncs: the logs
	// that need one while another is running are made durable together,
	// by one syncfs(2) per filesystem on Linux 5.8 and later (one fsync per
	// file elsewhere). With many workspaces written at once under
	// SyncAlways this divides the CPU and the time spent in fsync by the
	// number of workspaces per round. syncfs also writes back what other
	// programs left dirty on the same filesystem: use it when the data
	// directory has a filesystem of its own (oplog.GroupSyncer,
	// vfs.SyncAll). LogOptions.Syncer, if set, is used instead.
	GroupSync bool
	// Journal makes the workspaces' op-logs commit through one journal
	// of the store (oplog.Journal, in <dir>/JOURNAL): under SyncAlways a
	// commit writes its frames to its log as always, then appends them to
	// the journal, and one write and one fsync of that file make the
	// commits of every workspace waiting at that moment durable. The logs'
	// segment files are fsynced together when the journal is checkpointed
	// (every oplog.DefaultCheckpointSize bytes) and when they close. With
	// many workspaces written at once this divides the fsyncs by the
	// workspaces per round, like GroupSync, but flushes only the store's
	// own files, on any filesystem. It takes precedence over GroupSync.
	// Whatever it is set to, Open replays a journal a crash left behind.
	Journal bool

	// ClientID returns the CRDT client id of a new workspace's local edits.
	// It is called once, when the workspace is created; the id is then
	// persisted in the workspace's directory and reused by every later
	// open, so a restart keeps editing with the same id. It must lie in
	// [1, 2^53-1]. Never return an id another replica of the same workspace
	// uses. Nil means a random 32-bit id from crypto/rand (as yjs does).
	ClientID func(workspace string) (uint64, error)
	// NewBlockID generates ids for blocks created without one. Nil means 10
	// random characters from crypto/rand in [0-9A-Za-z_-], like the ids
	// AFFiNE generates.
	NewBlockID func() BlockID
	// Clock supplies the time: record timestamps, sys:created and
	// space:updated values written by Blocks, idle detection. Nil means
	// time.Now.
	Clock func() time.Time

	// SnapshotRecords and SnapshotBytes bound recovery time: once this many
	// records, or this many update bytes, were logged since a workspace's
	// last snapshot, the workspace encodes its state and writes a snapshot
	// in the background. Zero means DefaultSnapshotRecords /
	// DefaultSnapshotBytes; a negative value disables that trigger.
	SnapshotRecords int
	SnapshotBytes   int64
	// Retention, when non-nil, makes every snapshot followed by
	// oplog.Log.Compact(*Retention): history older than the retention is
	// dropped and can no longer be read with ReadAt or Subscribe. Nil keeps
	// all history.
	Retention *oplog.Retention

	// IdleTimeout is how long a workspace stays open without being used (and
	// without subscribers) before a background goroutine closes it; the next
	// use reopens it. Zero means DefaultIdleTimeout; negative never closes
	// idle workspaces (Store.CloseIdle still can).
	IdleTimeout time.Duration
	// SubscriberBuffer is how many live changes a subscription queues for a
	// slow reader before it falls back to re-reading the log. Zero means
	// DefaultSubscriberBuffer.
	SubscriberBuffer int

	// Logger receives recovery reports, background snapshot failures and
	// idle closes. Nil discards them.
	Logger *slog.Logger
}

// resolved is Options with defaults applied.
type resolved struct {
	Options
	maxRecord int
}

// syncer returns the store's GroupSyncer, nil when the logs sync alone.
func (r *resolved) syncer() *oplog.GroupSyncer { return r.LogOptions.Syncer }

func (o *Options) resolve() (*resolved, error) {
	var r resolved
	if o != nil {
		r.Options = *o
	}
	if r.FS == nil {
		r.FS = vfs.Default
	}
	if r.Journal {
		r.GroupSync, r.LogOptions.Syncer = false, nil // Store.Open sets LogOptions.Journal
	}
	if r.GroupSync && r.LogOptions.Syncer == nil {
		r.LogOptions.Syncer = &oplog.GroupSyncer{} // one per store: every log shares it
	}
	if r.LogOptions.SyncCount == nil {
		r.LogOptions.SyncCount = new(atomic.Int64) // one per store (StoreStats.LogSyncs)
	}
	if r.Clock == nil {
		r.Clock = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.NewBlockID == nil {
		r.NewBlockID = randomBlockID
	}
	if r.ClientID == nil {
		r.ClientID = func(string) (uint64, error) { return randomClientID() }
	}
	if r.SnapshotRecords == 0 {
		r.SnapshotRecords = DefaultSnapshotRecords
	}
	if r.SnapshotBytes == 0 {
		r.SnapshotBytes = DefaultSnapshotBytes
	}
	if r.IdleTimeout == 0 {
		r.IdleTimeout = DefaultIdleTimeout
	}
	if r.SubscriberBuffer == 0 {
		r.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if r.SubscriberBuffer < 0 {
		return nil, fmt.Errorf("engine: SubscriberBuffer %d is negative", r.SubscriberBuffer)
	}
	if r.Durability > oplog.SyncNone {
		return nil, fmt.Errorf("engine: unknown durability %d", r.Durability)
	}
	r.maxRecord = r.LogOptions.MaxRecordSize
	if r.maxRecord == 0 {
		r.maxRecord = oplog.DefaultMaxRecordSize
	}
	return &r, nil
}

// logOptions returns the op-log options for one workspace.
func (r *resolved) logOptions() *oplog.Options {
	lo := r.LogOptions
	lo.FS = r.FS
	lo.Durability = r.Durability
	lo.Clock = r.Clock
	lo.Logger = r.Logger
	return &lo
}

func validClientID(id uint64) error {
	if id == 0 || id > crdt.MaxClientID {
		return fmt.Errorf("engine: client id %d out of range [1, 2^53-1]", id)
	}
	return nil
}
