package engine

import (
	"testing"

	"octobase/internal/deptest"
)

// The engine sits below query, replication and server (DESIGN.md): it must
// not import them, nor net/http or NATS, and it must build for WebAssembly
// like the rest of ./engine/....
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/engine", deptest.Options{
		Allowed: []string{
			"octobase/engine/crdt", "octobase/engine/lib0", "octobase/oplog", "octobase/index",
			// Through oplog and (later) index:
			"github.com/klauspost/compress", "github.com/RoaringBitmap/roaring", "github.com/bits-and-blooms/bitset",
			"golang.org/x/sys/cpu", // roaring's CPU feature detection
		},

		ForbiddenDeps: []string{
			"octobase/query", "octobase/replication", "octobase/server",
			"net/http", "github.com/nats-io/",
		},
		Platforms: deptest.Wasm,
	})
}
