// Package js holds the test of OctoBase's JavaScript binding: octobase.cjs,
// a wrapper over the WebAssembly module built from cmd/octobase-wasm.
// js_test.go builds the module, drives the binding under Node.js against a
// Go-side workspace (syncing both ways) and runs example.cjs, the
// JavaScript example of docs/embedding.md.
package js
