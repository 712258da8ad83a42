package index

import (
	"testing"

	"octobase/internal/deptest"
)

// TestDeps keeps the layering of docs/DESIGN.md: index depends on the
// standard library and roaring (with roaring's own dependency) only, never
// on the engine, the query layer, networking or NATS, and it builds for
// WebAssembly because the engine, which imports it, must.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/index", deptest.Options{
		Allowed: []string{
			"github.com/RoaringBitmap/roaring/v2",
			"github.com/bits-and-blooms/bitset",
			"golang.org/x/sys/cpu", // roaring's CPU feature detection
		},
		ForbiddenDeps: []string{
			"octobase/engine", "octobase/query", "octobase/oplog",
			"net", "net/http", "github.com/nats-io/",
		},
		ForbiddenDirect: []string{"os", "time/tzdata"},
		Platforms:       deptest.Wasm,
	})
}
