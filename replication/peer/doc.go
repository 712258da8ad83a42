// Package peer syncs the workspaces of two stores directly, over any duplex
// byte stream: TCP, an in-memory pipe, a child process's stdin and stdout,
// ssh, a WebRTC data channel, a libp2p stream. There is no server: either
// side may start, both sides run the same code (Sync), and either may be
// offline for as long as it likes; the next session brings both up to date.
//
// # What the package owns
//
//   - The session protocol: frames, the handshake (protocol version, node
//     names, the workspaces each side wants), the y-protocols sync messages
//     (package ysync) multiplexed by workspace name, the done frame that
//     ends a one-shot sync, error frames.
//   - Driving engine.Workspace for a session: SyncStep1/SyncStep2 from
//     StateVector and EncodeStateAsUpdate, updates applied with Apply
//     (origin "peer:<remote name>"), live updates from Subscribe.
//   - Raw mode (SyncRaw): one workspace with a plain y-protocols peer.
//   - Built-in transports: Dial, Listen and Serve (TCP), Pipe (net.Pipe),
//     NewStream (a reader and a writer, e.g. stdio).
//
// It imports engine and ysync only; it never imports server, net/http or
// NATS (deps_test.go).
//
// # Wire format (version 1)
//
// Every frame is a length prefix and a body; the length is a lib0 varUint
// (7 bits per byte, least significant first, the same bytes as Go's
// binary.AppendUvarint), at most Options.MaxFrameSize (DefaultMaxFrameSize,
// 64 MiB) and never zero. The body's first byte is its kind:
//
//	0 hello  varString("octobase-peer") · varUint(version=1) · varString(name)
//	         · varUint(flags: 1 follow, 2 only) · varUint(n) · n × varString(workspace)
//	1 msg    varString(workspace) · one y-protocols message (ysync wire layout:
//	         00 00 sv = SyncStep1, 00 01 update = SyncStep2, 00 02 update = Update)
//	2 done   (empty) the sender applied the SyncStep2 of every workspace
//	3 error  varString(reason): the sender ends the session and says why
//	4 digest varString(workspace) · digest of the sender's delete set
//	         (layout in digest.go): sent before that workspace's SyncStep1
//
// Strings are lib0 varStrings (varUint byte length · UTF-8). The constants
// are part of the wire format; a change of layout needs a new Version.
//
// # Session
//
//  1. Each side sends its hello at once, then reads the peer's. A hello
//     without the magic, or with another version, ends the session with
//     ErrVersion on both sides (each sends an error frame saying so).
//  2. Both compute the same workspace set from the two hellos: every name
//     either side lists, minus the names a side with the "only" flag did
//     not list (Options.Workspaces set) — see agree. Without a list a side
//     offers every workspace of its store and accepts any the peer names.
//  3. If both sides follow, each subscribes to its workspaces' change
//     streams (from now), then sends, for every workspace, a digest of its
//     delete set (when it has enough deletions to be worth one) and
//     SyncStep1 (its state vector). Each answers a SyncStep1 with a
//     SyncStep2: what the peer lacks (EncodeStateAsUpdate against its state
//     vector), minus the deletions the peer's digest shows it has.
//  4. A side that has applied a SyncStep2 for every workspace sends done.
//     Once it has sent and received done, the initial sync is complete:
//     everything each side had when the session started is durable on the
//     other. A one-shot session (either side without Follow) then ends; a
//     following one streams every logged change of its workspaces as an
//     Update, except changes whose origin is "peer:<remote name>" (they
//     came from this peer: no echo).
//
// # Raw mode
//
// SyncRaw syncs one workspace with a peer that speaks only y-protocols: the
// frames carry the messages themselves (varUint(length) · y-protocols
// message), with no hello, no workspace name and no done. Both sides send
// SyncStep1 on connect, answer it with SyncStep2, and then send Update
// messages, exactly as y-websocket does over a WebSocket. Which workspace is
// synced is decided out of band (the listener's choice). node_test.go shows
// a yjs peer in about forty lines of Node.js.
//
// # Invariants
//
//   - P1 (nothing lost). A session subscribes before it encodes its
//     SyncStep2s, so every change is either in the SyncStep2 or streamed
//     after it. Everything applied is in the op-log before it is
//     acknowledged (Workspace.Apply), so a broken session loses nothing:
//     the next session's state vector exchange resends exactly what is
//     missing. Overlap is harmless: CRDT updates are idempotent, and a pure
//     duplicate is not even logged.
//   - P2 (no echo). An update applied from a session is tagged
//     "peer:<remote name>" and never sent back on a session with that
//     remote; it is forwarded to every other peer, so peers in a line
//     (A–B–C) converge through the middle one. Node names must therefore
//     be unique among a node's peers (the default is random).
//   - P3 (hostile input). Lengths are checked against the limit before
//     anything is allocated, and large frames grow only as their bytes
//     arrive. A malformed or oversized frame, an unknown kind, a message
//     for a workspace outside the session, or an update the CRDT rejects
//     ends the session with an error wrapping ErrProtocol (and an error
//     frame to the peer); the offending frame stores nothing. The decoder
//     has a fuzz target (FuzzFrame).
//   - P4 (cost). A resync sends per workspace a delete set digest and a
//     state vector each way, the structs each side lacks, and the parts of
//     each side's delete set the other's digest does not match: about the
//     size of the edits plus a few hundred bytes, not of the document. (A
//     plain y-protocols SyncStep2 carries the whole delete set, as a state
//     vector says nothing about deletions; raw mode does that.) A digest can
//     only shrink a SyncStep2: whatever cannot be split safely is sent whole.
//
// # Concurrency
//
// Sync runs the reader on the caller's goroutine (it applies updates, in
// frame order), one writer goroutine draining a queue, and, when following,
// one forwarder goroutine per workspace. Replies never wait for the queue,
// so two peers never deadlock waiting for each other to read; live updates
// wait when more than 1 MiB is queued (the engine subscription then falls
// back to reading the log, losing nothing). Sync returns only after all its
// goroutines ended, and closes the stream. Options.OnSynced runs on the
// reader goroutine.
//
// The workspace set is fixed by the handshake: a workspace created on either
// side during a following session is synced by the next session.
package peer
