// Package jetstream replicates an engine.Store's workspaces between
// OctoBase nodes through NATS JetStream, with nats-server embedded in the
// process. It is the only package of OctoBase that imports NATS.
//
// # What the package owns
//
//   - The embedded nats-server (Start): a single node by default (JetStream
//     store in <data>/NATS, no client port: this process connects
//     in-process), or one member of a cluster of embedded servers
//     (Options.ClusterAddr, Options.Peers). With Options.URL the node
//     connects to an external NATS server or cluster instead.
//   - One stream, OCTO_UPDATES, with one subject per workspace:
//     octo.ws.<token>, where the token is the workspace name with every byte
//     outside [A-Za-z0-9_-] written %XX. It is created by the first node
//     that finds it missing, with min(3, cluster size) replicas.
//   - Publishing: one publisher per workspace follows Workspace.Subscribe
//     from the last published LSN and publishes every change whose origin
//     does not start with "jetstream:", the record's exact v1 update as the
//     payload, headers Nats-Msg-Id (<node id>.<workspace hash>.<lsn>) and
//     Octo-Node (the node name). Publishes are pipelined (Options.Window in
//     flight, acknowledgements taken in order); once window/16 are in
//     flight, the changes waiting are coalesced into one batch message
//     (header Octo-Batch, batch.go), which JetStream handles for the cost
//     of one message.
//   - Consuming: one consumer reads every subject of the stream from the
//     last consumed stream sequence and applies other nodes' records with
//     Workspace.ApplyAsync, origin "jetstream:<sender name>", creating
//     workspaces on first sight: all messages already delivered are
//     applied, then awaited together (sharing the op-log's fsyncs), then
//     the position moves over them in stream order.
//   - Snapshots (snapshot.go): every Options.SnapshotInterval a node puts
//     the state of its changed workspaces, with the stream sequence they
//     cover, into the object store OCTO_SNAPSHOTS; a node with no data
//     bootstraps from them and consumes only the stream after them.
//   - The node's positions, in <data>/REPLICATION/state.json: its
//     incarnation id, the last published LSN of each workspace and the
//     last consumed stream sequence.
//
// # Guarantees and invariants
//
//   - J1 (local first). The engine logs (and by default fsyncs) an update
//     before replication sees it: a change is published only after it is in
//     the local op-log, and the node works the same whether NATS is up or
//     not. JetStream is the transport and the shared history, not the only
//     copy (NOTES.md: an acknowledgement means "in memory on a quorum").
//   - J2 (publish position). Published[ws] = n means JetStream acknowledged
//     the records 1..n of ws (or they were skipped as replicated). The
//     position moves only over acknowledged records, in LSN order; it is
//     persisted lazily (every Options.FlushInterval and on Close), so after
//     a crash it may lag, never lead. On any error the publisher starts over
//     from the position: the op-log is the backlog, published in LSN order
//     when NATS is back.
//   - J3 (consume position). Consumed = s means every stream message up to
//     s was applied and acknowledged by the local op-log (or is this
//     node's own, or could never be applied, or is contained in a
//     bootstrap snapshot that is). Like J2 it is persisted lazily and may
//     lag after a crash.
//   - J4 (idempotence). Every message may be delivered more than once: after
//     a crash (J2, J3), beyond the de-duplication window (Options.Duplicates)
//     or when a node republishes. Applying a yjs update twice changes
//     nothing and the engine logs a pure duplicate not at all, so
//     redelivery costs time, never records or state.
//   - J5 (no echo). Records whose origin starts with "jetstream:" are never
//     published, so an update crosses the stream once per origin node; a
//     node skips messages carrying its own incarnation id.
//   - J6 (incarnations). The incarnation id is random and created with the
//     state file. A node whose data directory was wiped gets a new one: it
//     re-applies everything the stream holds, its old messages included,
//     and its new LSNs never collide with old message ids.
//   - J7 (convergence). Every node applies every other node's updates, in
//     stream order, and yjs merges are commutative: once writes stop and
//     every node has caught up (Status.CaughtUp), all nodes hold the same
//     state vector and the same encoded state.
//
// An update too large for a message goes through the object store
// OCTO_LARGE (large.go).
//
// What this does not do yet: compact the stream, pace publishers by
// workspace count, or share one subscription for all workspaces. docs/replication.md lists them with the
// failure modes.
//
// # Concurrency
//
// Start launches, per Node: one consumer goroutine (and its reader), one
// workspace scanner (Store.Workspaces every Options.ScanInterval; each new
// workspace gets a publisher goroutine), one state flusher, one reporter,
// one snapshot writer, and the embedded server's own.
// Close stops and waits for all of them, writes the state and shuts the
// server down; call it before engine.Store.Close. Node methods are safe for
// concurrent use. Locks: Node.pubMu, Node.wsMu, Node.streamMu and state.mu
// are leaves, never held while taking another (state.flushMu is taken
// before state.mu).
package jetstream
