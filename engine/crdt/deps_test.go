package crdt

import (
	"testing"

	"octobase/internal/deptest"
)

// The CRDT core is pure: no I/O, no clock, no goroutines' worth of
// machinery, and it must build for WebAssembly.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/engine/crdt", deptest.Options{
		Allowed:         []string{"octobase/engine/lib0"},
		ForbiddenDirect: []string{"os", "time", "net", "log", "log/slog", "sync", "math/rand", "math/rand/v2", "os/exec"},
		ForbiddenDeps:   []string{"net", "net/http", "github.com/"},
		Platforms:       deptest.Wasm,
	})
}
