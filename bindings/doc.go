// Package bindings is the home of OctoBase's embedding surfaces other than
// the Go API: the shared core of the foreign interfaces (bindings/ffi), the
// C test program and example (bindings/c), the Python binding
// (bindings/python) and the JavaScript binding over WebAssembly
// (bindings/js). The C library itself is cmd/liboctobase and the
// WebAssembly module cmd/octobase-wasm.
//
// This package holds no code; its tests keep docs/embedding.md honest: the
// Go example (example_test.go) runs, and every example file the document
// embeds is quoted there verbatim (each example file is run by its binding's
// test).
package bindings
