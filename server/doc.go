// Package server is the HTTP face of an OctoBase node (docs/http-api.md):
//
//   - the y-websocket compatible sync endpoint, /sync/<workspace>, which speaks
//     y-protocols (package replication/ysync) to y-websocket clients and
//     applies their updates through engine.Workspace.Apply;
//   - the update endpoints GET and POST /api/workspaces/{ws}/update (binary
//     yjs v1 updates);
//   - block CRUD as JSON under /api/workspaces/{ws}/blocks[/{id}]
//     (engine.Workspace.Transact with engine.Blocks; reads from the
//     materialized views);
//   - OQL queries, POST /api/query (package query);
//   - change streams as Server-Sent Events, GET /api/workspaces/{ws}/changes,
//     filtered by an OQL predicate (query.OpenTail) and resumable with
//     Last-Event-ID;
//   - token auth (auth.go), limits (limits.go), GET /metrics (Prometheus text
//     format, metrics.go) and GET /healthz.
//
// # Rooms and connections
//
// Every workspace with at least one WebSocket connection has a room: its
// connections, its awareness table (ysync.Awareness, shared by the room's
// connections, never persisted) and a subscription to the workspace's change
// stream (engine.Workspace.Subscribe). A room is dropped, and its
// subscription closed, when its last connection leaves.
//
// Each connection has a reader (the HTTP handler goroutine) and a writer
// goroutine draining a bounded queue (Options.SendQueue). The server writes
// its WebSocket frames itself, to the hijacked connection (frame.go;
// coder/websocket does the handshake, the reads and the close frame). A
// message for a connection with nothing queued and nothing being written
// is written at once by the goroutine that has it — the broadcaster, the
// reader answering — with one non-blocking write(2) (conn.tryWriteNow);
// the writer finishes a frame the socket took only in part, before
// anything queued later. Everything else is queued, and the broadcaster
// queues every update when more changes wait behind it, so that the
// writers merge them. Nobody waits for a slow connection: one whose queue
// is full is closed with status 1013 (try again later). What
// coder/websocket writes itself, the close frame (also its answer to a
// client's close, from inside a read), goes through the same lock as the
// server's frames (guardedConn): after the rest of a partly written frame,
// and with nothing written after it.
//
// The writer merges the broadcast updates it finds queued one after the
// other (send.go): a run of [0,2,update] messages is sent as one
// [0,2,crdt.MergeUpdates(run)] message, one frame and one write(2), since a
// loopback write costs more CPU than the rest of a delivery. A run never
// crosses another message (a sync reply, awareness), which is written in
// its place after it, nor a gap in the room's broadcast sequence, and its
// updates total at most Options.MaxMessageSize bytes. The merge of a run
// is computed once per room, on the run's first message, and reused by the
// connections that find the same run queued.
//
// Writes carry no deadline (a per-write timeout cost a quarter of the
// fan-out CPU). One sweeper goroutine per Server watches every connection
// instead: every WriteTimeout it cuts off (CloseNow) a connection whose
// write was already in progress at its previous check, so a stuck write
// lasts one to two WriteTimeouts; and it pings each connection once per
// PingInterval (spread over pingSlots sweeps), cutting off one whose
// previous ping got no pong within the interval.
//
// # Persist, then broadcast, from the change stream
//
// An update from HTTP POST or from the block API is applied with
// Workspace.ApplyComplete or Transact, which return once the op-log
// acknowledged it (fsynced by default). An update from a WebSocket client
// (SyncStep2 or Update) is applied with Workspace.ApplyCompleteAsync, and
// the connection's next message is read while it becomes durable: the
// room's finisher goroutine waits for its connections' updates in order
// (which publishes them), so that a client's updates in flight share
// fsyncs, and closes with 1011 a connection whose update failed. The
// server does not broadcast an update itself: each room's broadcaster goroutine reads the room's
// subscription and sends [0,2,update] (engine.Change.Update, the exact
// logged bytes) to every connection of the room, the sender included as the
// reference server does. So an update applied by any path — this server,
// another node's replication calling Workspace.Apply, a peer sync — reaches
// the room's connections, in LSN order and exactly once (the engine's E6
// guarantee: no gaps, no duplicates, only acknowledged records); a pure
// duplicate is not logged and so not broadcast. A connection receives each
// logged update either alone, byte for byte, or merged with the ones logged
// right before or after it (see above). A connection joining a
// room syncs what came before with SyncStep1/SyncStep2; an update logged
// between its room's subscription and its sync arrives twice, which the CRDT
// ignores. If a room's stream ends while it still has connections (the
// store closing, a workspace failure), they are closed with 1013 so that
// they reconnect and resync.
//
// # Auth and limits
//
// With Options.Auth set, every endpoint but /healthz needs a token (Auth:
// HMAC-SHA256 signed, expiring, for one workspace or "*", read or write
// access), as an Authorization bearer header or, on WebSocket handshakes,
// a token query parameter. HTTP answers 401 for a missing, invalid or
// expired token and 403 for one that does not grant the workspace or the
// access. A WebSocket is accepted and then closed with 4401 or 4403 (codes
// y-websocket does not retry). A read-only token syncs down; its updates are
// refused with a y-protocols permission-denied message and not applied. A
// token's expiry, or its revocation (Options.RevokedFile, revoke.go), also
// ends the WebSocket connections (4401) and SSE streams it opened.
//
// Limits: Options.MaxMessageSize (WebSocket close 1009, HTTP 413),
// Options.MaxDocumentSize (close 4413, HTTP 413; the estimate is described
// at docSize), Options.MaxConnections and MaxConnectionsPerWorkspace, which
// count WebSocket connections and SSE streams (close 1013, HTTP 503 / 429).
//
// # Concurrency and lock order
//
// All Server methods are safe for concurrent use. Locks, in the order they
// are taken (never the reverse):
//
//  1. Server.mu: the room map, the live connections (for the sweeper),
//     connection counts, size estimates (never held while calling the
//     engine; Close holds it while collecting connections under room.mu).
//  2. room.mu: connections, the awareness table, each connection's awareness
//     ids.
//  3. conn.wmu (held while writing to the connection, by the server or by
//     coder/websocket through guardedConn; tryWriteNow only tries it),
//     then conn.kickMu, docSize.mu and outMsg.merged: leaves.
//
// Goroutines: one awareness janitor and one sweeper per Server, one
// broadcaster and one finisher per room, and per
// connection its handler (the reader) and a writer; SSE streams run in
// their request's handler. Close waits for all but the SSE handlers, which
// it ends (as StopStreams does).
package server
