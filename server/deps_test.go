package server

import (
	"testing"

	"octobase/internal/deptest"
)

func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/server", deptest.Options{
		Allowed: []string{
			"octobase/engine",
			"octobase/oplog",
			"octobase/index",
			"octobase/query",
			"github.com/alecthomas/participle/v2",
			"golang.org/x/sys/cpu",
			"octobase/replication/",
			"github.com/coder/websocket",
			"github.com/klauspost/compress",
			"github.com/RoaringBitmap/roaring",
			"github.com/bits-and-blooms/bitset",
			"github.com/mschoch/smat",
		},
		ForbiddenDeps: []string{"github.com/nats-io/", "octobase/cmd/"},
	})
}
