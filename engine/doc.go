// Package engine is OctoBase's event-sourced core: a Store (a directory of
// workspaces), each Workspace one yjs-compatible crdt.Doc whose every
// change is a yjs update appended to an op-log, and what is derived from
// that log: recovery (snapshot + log tail), the block model and its
// materialized views, change streams, and time travel.
//
// # What the package owns
//
//   - Store: workspace directories (names escaped so no name can traverse
//     or collide), lazy opening, closing idle workspaces, the LOCK file.
//   - Workspace: the write path (Apply for remote updates, ApplyComplete
//     for untrusted clients, Transact for local edits), group commit,
//     recovery, background snapshots, the per-workspace client id
//     (persisted in a client-id file so restarts keep it).
//   - The block model (docs/data-model.md): blocks of a space live in the
//     root map space:<id> (default "blocks"), each a Y.Map with sys:id,
//     sys:flavour, sys:children, sys:parent, sys:created, sys:creator and
//     prop:<name> values (JSON or Y.Text); space:updated maps block id to
//     its last update time (ms); space:meta holds workspace metadata.
//     Blocks edits them; ReadView reads the materialized views; links are
//     {"$ref": id} prop values and "reference" text attributes, with a
//     backlink index. Documents that do not follow the layout are stored
//     and synced untouched; they simply have no blocks.
//   - The roaring-bitmap indexes of each space (package index), kept in
//     step with the views (engine/index.go), read through ReadView.Index,
//     written beside each snapshot and loaded on recovery when they match
//     it (rebuilt from the views otherwise).
//   - Change streams (Subscribe), block history (History), time travel
//     (ReadAt, LSNAt, ReadAtTime), and Replica: a private copy of the
//     state that follows a change stream record by record (what filtered
//     change streams evaluate predicates on).
//
// The engine never imports query, replication, server, net/http or NATS
// (deps_test.go); filtered change streams are built on Subscribe by the
// caller.
//
// # Write path
//
// Apply and Transact, under the workspace lock: (1) integrate the update
// into the document (a malformed update changes nothing and returns the
// crdt error); (2) compute, from the observer events of that transaction
// only, the delta of the views and the change; (3) hand the record to the
// op-log, which assigns its LSN (oplog.AppendAsync), and queue the delta
// and change. Then, without the lock: (4) wait for the acknowledgement
// (Options.Durability); concurrent writers of the workspace wait for the
// same fsync (group commit). Then, under the lock again: (5) apply the
// deltas of every queued record up to this one to the views, publish their
// changes, in LSN order (whichever writer gets there first does it for the
// records before its own); (6) maybe start a background snapshot. If (4)
// fails, the workspace is marked broken and reopened from disk on its next
// use.
//
// # Invariants
//
//   - E1 (log order = integration order). Updates are appended in the order
//     they were integrated into the document: both happen under the
//     workspace lock, and the append's LSN is checked to be the previous
//     one + 1. Replaying the log in LSN order therefore rebuilds exactly
//     the document the workspace had.
//   - E2 (acknowledged ⇒ logged). Apply and Transact return an LSN only
//     after the op-log acknowledged the record per the durability mode (in
//     SyncAlways mode: fsynced). A pure duplicate (no change, nothing
//     pending) is not logged; its content is covered by the returned LSN.
//   - E3 (nothing unacknowledged is served). Views and change streams are
//     updated only after the acknowledgement. Reads of the document itself
//     (StateVector, EncodeStateAsUpdate, Snapshot) first wait, holding the
//     lock, for the records in flight to be acknowledged. A document that
//     got ahead of its log (a failed append, a Transact callback that failed
//     after changing it) is discarded and the workspace reopened from disk.
//   - E4 (views are a function of the document). The materialized views
//     equal what a from-scratch build over the document gives (buildViews),
//     although they are maintained incrementally from observer events: the
//     cost of an update is proportional to what it changed, never to the
//     size of the document. The model test checks this after random
//     operation sequences, local and remote.
//   - E5 (recovery). Opening a workspace loads the newest snapshot (the v1
//     encoded state as of its LSN n, written by oplog.WriteSnapshot) and
//     applies the records after n in order. A snapshot is encoded under the
//     lock, so its bytes are exactly the state as of the LSN it is written
//     with (the last assigned one), and is written outside it once that
//     record is durable. Snapshots are taken in the
//     background once Options.SnapshotRecords records or
//     Options.SnapshotBytes bytes were logged since the last one, which
//     bounds the tail recovery must replay.
//   - E6 (change ordering). A subscriber receives one Change per record, in
//     strictly increasing LSN order without gaps, each after its record was
//     acknowledged; history is re-derived from the log, then the stream
//     continues live.
//
// # Concurrency and lock order
//
// Every method of Store, Workspace, ReadView and Subscription is safe for
// concurrent use. A crdt.Doc is not, so each workspace serializes access to
// its document with Workspace.mu, held while integrating and while the
// op-log assigns the LSN (E1), but not across the fsync: a workspace has
// many appends in flight, and its concurrent writers share fsyncs
// (BenchmarkConcurrentWriters: 64 writers of one workspace reach about 7×
// the rate of one). While records are in flight the views lag behind the
// document by exactly those records; the next delta patches blocks from
// their in-flight version (wsState.ahead), not from the views. Workspaces
// have separate logs and write in parallel. Reads do not take Workspace.mu: they
// read the materialized views under views.mu (a RWMutex a writer holds only
// to apply a delta), so reads never wait for an fsync. Blocks in the views
// are immutable.
//
// Locks, in the order they are taken (never the reverse):
//
//  1. Store.mu: the workspace map; never held while taking a workspace lock.
//  2. Workspace.mu: the document, the op-log handle, the subscriber list.
//  3. views.mu and Subscription.mu: leaves.
//
// Goroutines: the Store's idle closer (Options.IdleTimeout), one per
// background snapshot (waited for when the workspace closes), one per
// Subscription. Store.Close stops and waits for all of them.
package engine
