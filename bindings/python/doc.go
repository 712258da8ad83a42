// Package python holds the test of OctoBase's Python binding, octobase.py
// (ctypes, standard library only): python_test.go builds the C library and
// runs test_octobase.py, the Python example of docs/embedding.md, against a
// Go-side workspace.
package python
