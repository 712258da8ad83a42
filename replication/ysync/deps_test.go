package ysync

import (
	"testing"

	"octobase/internal/deptest"
)

// ysync is pure like the CRDT: bytes and timestamps in, replies out. No I/O,
// no clock, no goroutine machinery, and it builds for WebAssembly so a
// browser or WASI peer can speak y-protocols with it.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/replication/ysync", deptest.Options{
		Allowed:         []string{"octobase/engine/crdt", "octobase/engine/lib0"},
		ForbiddenDirect: []string{"os", "time", "net", "log", "log/slog", "sync", "math/rand", "math/rand/v2", "os/exec"},
		ForbiddenDeps:   []string{"net", "net/http", "github.com/"},
		Platforms:       deptest.Wasm,
	})
}
