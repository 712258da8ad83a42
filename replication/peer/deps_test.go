package peer

import (
	"testing"

	"octobase/internal/deptest"
)

// peer sits on the engine and ysync (DESIGN.md): it drives any stream the
// caller hands it and never reaches up to server, net/http or NATS.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/replication/peer", deptest.Options{
		Allowed: []string{
			"octobase/engine", "octobase/engine/crdt", "octobase/engine/lib0",
			"octobase/oplog", "octobase/index", "octobase/replication/ysync",
			// Through the engine (oplog, index):
			"github.com/klauspost/compress", "github.com/RoaringBitmap/roaring", "github.com/bits-and-blooms/bitset",
			"golang.org/x/sys/cpu", // through roaring
		},
		ForbiddenDeps: []string{
			"octobase/server", "octobase/query", "octobase/cmd/", "octobase/replication/jetstream",
			"net/http", "github.com/nats-io/",
		},
	})
}
