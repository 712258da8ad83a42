// Command octobase-wasm is OctoBase compiled to WebAssembly for JavaScript
// hosts (Node.js, browsers):
//
//	GOOS=js GOARCH=wasm go build -o octobase.wasm ./cmd/octobase-wasm
//
// Run under Go's wasm_exec.js ($(go env GOROOT)/lib/wasm/wasm_exec.js), it
// defines globalThis.octobase, the same operations as the C ABI
// (cmd/liboctobase/octobase.h) over in-memory stores: every function returns
// a Promise, handles are numbers, updates and state vectors are Uint8Arrays,
// blocks, patches, query parameters and results and changes are JSON
// strings, and a failure rejects with an Error whose code property is the
// OCTOBASE_ERR_* value. bindings/js/octobase.cjs wraps it in a friendlier
// API; docs/embedding.md shows both.
//
// Functions: version(), openStore(optionsJSON), closeStore(s),
// openWorkspace(s, name), closeWorkspace(w), apply(w, update, origin),
// applyV2(w, update, origin), stateVector(w), encodeState(w, sv),
// lastLSN(w), createBlock(w, json, origin) → {json, lsn},
// getBlock(w, id), updateBlock(w, id, patch, origin) → {json, lsn},
// deleteBlock(w, id, subtree, origin) → lsn, query(w, oql, paramsJSON),
// subscribe(w, fromLSN), poll(sub, timeoutMS) → JSON or null,
// closeSubscription(sub).
//
// Every function runs in its own goroutine and settles its Promise from
// there, so calls may block (a poll with a timeout) without stalling the
// JavaScript event loop's callbacks into Go.
package main
