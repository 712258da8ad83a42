package lib0

import (
	"testing"

	"octobase/internal/deptest"
)

// lib0 is the bottom of the import graph: standard library only, no I/O.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/engine/lib0", deptest.Options{
		ForbiddenDirect: []string{"os", "time", "net", "log", "sync"},
		Platforms:       deptest.Wasm,
	})
}
