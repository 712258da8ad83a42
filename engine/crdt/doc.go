// Package crdt is OctoBase's yjs-compatible CRDT: documents, transactions,
// the struct store, shared types (Map, Array, Text, XmlFragment,
// XmlElement, XmlText, XmlHook; sub-documents as content), update formats
// v1 and v2, document-free merge/diff of encoded updates, observers and
// snapshots. It is byte-compatible with yjs 13: for the same history it
// produces the same updates, state vectors and encoded state, which tests
// check against the real yjs package.
//
// # Model
//
// A Doc holds one struct store: per client, a clock-sorted slice of Items
// (runs of consecutive clocks with one content) and GC structs. Items of a
// type form a doubly linked list in document order (Left/Right); map
// entries are per-key lists whose rightmost item is the current value.
// Concurrent insertions are ordered by YATA exactly as yjs orders them
// (lower client id first at the same position; map conflicts won by the
// higher client id).
//
// # Invariants
//
//   - Per client, structs cover clocks 0..state-1 contiguously, sorted, with
//     no overlap; ids are found by binary search.
//   - An item is integrated only after its origins and parent; updates whose
//     dependencies are missing are kept as pending (structs and delete
//     ranges) and integrated when the missing clocks arrive.
//   - Lengths and positions count UTF-16 code units as yjs does; a split in
//     the middle of a surrogate pair replaces both halves with U+FFFD.
//   - Decoding validates before integrating: a malformed update returns an
//     error wrapping ErrMalformed (or ErrUnsupported) and changes nothing. The
//     decoder never sizes an allocation from an untrusted count beyond the
//     bytes present, and bounds the number of structs per update.
//
// # Determinism and concurrency
//
// The package does no I/O, reads no clock and starts no goroutines: client
// ids are supplied by the caller (Options.ClientID) and so is any
// timestamp. A Doc is not safe for concurrent use; callers serialize access
// to it (the engine holds one lock per workspace). Observers run
// synchronously at the end of each transaction, before deleted content is
// garbage-collected, so events can still read what was deleted.
package crdt
