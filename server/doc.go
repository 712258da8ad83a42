// Package server is the HTTP face of an OctoBase node. This first slice owns:
//
//   - the y-websocket compatible sync endpoint, /sync/<workspace>, which speaks
//     y-protocols (package replication/ysync) to y-websocket clients and
//     applies their updates through engine.Workspace.Apply;
//   - the update endpoints GET and POST /api/workspaces/{ws}/update (binary
//     yjs v1 updates) and GET /healthz (docs/http-api.md).
//
// REST block CRUD, OQL queries, SSE change streams, auth and metrics are not
// here yet.
//
// # Rooms and connections
//
// Every workspace with at least one WebSocket connection (or an HTTP POST in
// flight) has a room: its connections, its awareness table (ysync.Awareness,
// shared by the room's connections, never persisted) and the last LSN it
// broadcast. A room is dropped when its last user leaves.
//
// Each connection has a reader (the HTTP handler goroutine), a writer
// goroutine draining a bounded queue (Options.SendQueue) and a pinger
// (Options.PingInterval). Broadcasting only enqueues: a connection whose
// queue is full is closed with status 1013 (try again later) instead of
// making anyone wait for it.
//
// # Persist, then broadcast
//
// An update from a client (SyncStep2 or Update) or from HTTP POST is applied
// with Workspace.Apply, which returns once the op-log acknowledged it
// (fsynced by default). Only then is [0,2,update] queued to every connection
// of the room, the sender included as the reference server does. Apply and
// the broadcast happen under the room's apply lock, so connections receive
// updates in log order, and an update Apply reports as a pure duplicate (its
// LSN is not newer than the last broadcast one) is not broadcast again.
//
// The broadcast uses the bytes the client sent, not the engine's change
// stream: engine.Change does not carry update bytes. Updates applied by
// another node (replication) therefore do not reach this node's WebSocket
// clients yet; that needs the update bytes in engine.Change or a read of the
// op-log record per change.
//
// # Concurrency and lock order
//
// All Server methods are safe for concurrent use. Locks, in the order they
// are taken (never the reverse):
//
//  1. room.applyMu: Workspace.Apply and the broadcast that follows it.
//  2. Server.mu: the room map (never held while calling the engine; Close
//     holds it while collecting connections under room.mu).
//  3. room.mu: connections, the awareness table, each connection's awareness
//     ids.
//  4. conn.kickMu: a leaf.
//
// Goroutines: one awareness janitor per Server, and per connection its
// handler (the reader), a writer and a pinger. Close waits for all of them.
package server
