package merge

import (
	"testing"

	"octobase/internal/deptest"
)

// The suite measures the CRDT core alone: it may use the engine's
// packages, internal/nodejs (to find Node.js for the references) and the
// standard library, and no network.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/bench/merge", deptest.Options{
		Allowed:       []string{"octobase/engine/", "octobase/internal/nodejs"},
		ForbiddenDeps: []string{"net", "net/http", "github.com/"},
	})
}
