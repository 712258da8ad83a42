// Package ffi is the language-neutral core behind OctoBase's foreign
// interfaces: the C ABI (cmd/liboctobase) and the WebAssembly module
// (cmd/octobase-wasm). It turns the Go API of packages engine and query into
// calls that take and return only integers, strings (JSON) and byte slices,
// so each binding is a thin layer of argument conversion.
//
// # Handles
//
// Stores, workspaces and subscriptions are named by Handles: positive
// integers from a table, never pointers. Handles are never reused, so a
// closed handle stays invalid forever; passing one, or a handle of the wrong
// kind (a workspace where a store is expected), returns an *Error with
// CodeInvalidHandle. Closing a store invalidates its workspace and
// subscription handles.
//
// # Errors
//
// Every method returns either nil or an *Error carrying a Code, the stable
// number the C header and the bindings expose, and a message. A panic in a
// method is not recovered here; the bindings recover at their boundary
// (see Recover).
//
// # JSON
//
// Blocks, block edits, store options, query parameters and results and
// changes travel as JSON; docs/embedding.md is the reference for their shape.
// Rich text properties are written {"$text": "plain", "$delta": [...]}
// (a Quill delta; "$delta" is optional on input).
//
// # Concurrency
//
// An *API is safe for concurrent use: the handle table is guarded by a
// mutex that is never held while calling into the engine, and every engine
// method is itself safe for concurrent use.
package ffi
