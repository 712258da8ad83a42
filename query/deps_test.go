package query

import (
	"testing"

	"octobase/internal/deptest"
)

// TestDeps keeps the layering of docs/DESIGN.md: query reads the engine's
// views and the index, parses with participle, and never depends on the
// replication or server layers, networking or NATS.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/query", deptest.Options{
		Allowed: []string{
			"octobase/engine", "octobase/index", "octobase/oplog",
			"github.com/alecthomas/participle/v2",
			"github.com/RoaringBitmap/roaring/v2",
			"github.com/bits-and-blooms/bitset",
			"github.com/klauspost/compress", // through oplog
			"golang.org/x/sys/cpu",
		},
		ForbiddenDeps: []string{
			"octobase/replication", "octobase/server", "octobase/cmd",
			"net/http", "github.com/nats-io/",
		},
	})
}
