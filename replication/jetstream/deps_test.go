package jetstream

import (
	"testing"

	"octobase/internal/deptest"
)

// replication/jetstream is the only importer of NATS (DESIGN.md): it sits
// on the engine and must never reach up into server, query or the CLI.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/replication/jetstream", deptest.Options{
		Allowed: []string{
			"octobase/engine",
			"octobase/oplog",
			"octobase/index",
			"github.com/nats-io/",
			"github.com/klauspost/compress",
			"github.com/minio/highwayhash",
			"github.com/google/go-tpm",
			"github.com/antithesishq/antithesis-sdk-go",
			"github.com/RoaringBitmap/roaring",
			"github.com/bits-and-blooms/bitset",
			"github.com/mschoch/smat",
			"golang.org/x/crypto",
			"golang.org/x/sys",
			"golang.org/x/time",
		},
		ForbiddenDeps: []string{"octobase/server", "octobase/query", "octobase/cmd/", "octobase/replication/ysync"},
	})
}
