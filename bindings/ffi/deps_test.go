package ffi

import (
	"testing"

	"octobase/internal/deptest"
)

func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/bindings/ffi", deptest.Options{
		// Engine and query bring their own dependencies (their deps_test.go
		// rules them); a binding must not pull in the server side.
		AnyDeps:       true,
		ForbiddenDeps: []string{"net/http", "github.com/nats-io/", "octobase/server", "octobase/replication/", "octobase/cmd/"},
		Platforms:     []string{"js/wasm"},
	})
}
