// Package ysync implements the y-protocols wire messages (sync, awareness,
// auth) that yjs clients and y-websocket speak, as pure functions: bytes in,
// replies out. It owns the message framing, the sync session rules (reply to
// SyncStep1 with SyncStep2, apply SyncStep2 and Update) and the awareness state
// table with y-protocols' acceptance and timeout rules. It knows nothing about
// sockets, rooms, connections or clocks; server and replication/peer drive it.
// The behaviour follows y-protocols 1.0.7 (sync.js, awareness.js, auth.js) and
// y-websocket 3.1.0, and the tests compare it byte for byte with them.
//
// # Wire layout
//
// Every message starts with an outer type, a varUint (lib0 encodings, see
// engine/lib0):
//
//	0 sync            varUint(0) · varUint(syncType) · varUint8Array(payload)
//	    syncType 0 SyncStep1: payload = encoded state vector of the sender
//	    syncType 1 SyncStep2: payload = v1 update (encodeStateAsUpdate(doc, sv))
//	    syncType 2 Update:    payload = v1 update of one local transaction
//	1 awareness       varUint(1) · varUint8Array(awarenessUpdate)
//	    awarenessUpdate = varUint(n) · n × (varUint clientID · varUint clock ·
//	                      varString JSON.stringify(state)); the state "null"
//	                      marks the client as gone
//	2 auth            varUint(2) · varUint(0) · varString(reason)  (permission denied)
//	3 queryAwareness  varUint(3)  (the receiver answers with every awareness state)
//
// For example, SyncStep1 of an empty document is 00 00 01 00, and a
// permission-denied message with reason "no" is 02 00 02 6e 6f.
//
// Decode returns one concrete type per message (SyncStep1, SyncStep2, Update,
// AwarenessUpdate, QueryAwareness, AuthDenied, Unknown); each type's Append
// method and the Append* functions write the same bytes y-protocols writes.
//
// # Invariants
//
//   - No input makes Decode, DecodeAwarenessUpdate, Handle or Awareness.Apply
//     panic. Malformed input returns an error wrapping ErrMalformed (check with
//     errors.Is); a malformed state vector also wraps crdt.ErrMalformed.
//   - Nothing is allocated from an untrusted length beyond the bytes present:
//     lengths and counts are checked against the remaining input first.
//   - An outer type other than 0–3, or an auth message other than permission
//     denied, decodes as Unknown without error, so a server can ignore it as the
//     reference server does. An unknown sync sub-type is malformed (y-protocols
//     throws on it).
//   - Bytes after a complete message (or after the entries of an awareness
//     update) are ignored, as y-protocols ignores them.
//   - Decode's byte slices (SyncStep2.Update, Update.Update,
//     AwarenessUpdate.Update, Unknown.Payload) alias the input; copy them to
//     keep them beyond the input's lifetime.
//   - Awareness.Apply validates a whole update before changing anything, so a
//     malformed update changes nothing (y-protocols applies the entries before
//     the bad one and then throws).
//
// # Sessions
//
// Handle answers one sync message against a Store (a *crdt.Doc is one): a
// SyncStep1 gets a SyncStep2 reply with what the peer lacks, a SyncStep2 or
// Update is applied with the caller's origin, or refused with a
// permission-denied reply when Options.ReadOnly is set. A server starts a
// session by sending Step1(store), the client does the same, and afterwards
// both sides send each local update wrapped by AppendUpdate. Applying and
// logging happen in the Store, so the engine can route updates through its log.
//
// # Awareness
//
// Awareness is y-protocols' state table: per client id a clock, a JSON state
// and when it was last updated. A server mirrors the reference server:
//
//	aw := ysync.NewAwareness(serverID, now)
//	aw.SetLocalState("null", now)                 // the server has no state
//	// on connect:  send Step1(doc) and, if aw.Len() > 0, AppendAwareness(nil, aw.EncodeAll())
//	// on AwarenessUpdate m from conn:
//	ch, err := aw.Apply(m.Update, now)            // remember ch.Added as conn's ids, forget ch.Removed
//	if !ch.Empty() { broadcast(AppendAwareness(nil, aw.Encode(ch.Clients()))) }
//	// on close: ch := aw.RemoveStates(connIDs, now), then broadcast as above
//	// every few seconds: aw.RemoveStates(aw.Outdated(now, OutdatedTimeout), now), broadcast
//
// Broadcast on !Empty(), not only on Changed(): renewals (Change.Updated
// without Modified) must reach every connection, the sender included, or
// y-websocket clients, which close a socket that is silent for 30 s, time out.
//
// # Time
//
// The package reads no clock. Awareness methods take now, milliseconds since an
// epoch of the caller's choosing (y-protocols uses Date.now()); OutdatedTimeout
// is 30 000 ms. The caller's ticker calls Outdated and RenewLocal.
//
// # Concurrency
//
// Everything here is synchronous and starts no goroutines. Handle accesses its
// Store without locking: the caller serializes access to the document (the
// engine holds one lock per workspace) and must hold it for the whole call.
// An Awareness is not safe for concurrent use; guard it with one lock. The
// package-level encoding and decoding functions are safe for concurrent use.
package ysync
