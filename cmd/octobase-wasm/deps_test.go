package main

import (
	"testing"

	"octobase/internal/deptest"
)

func TestDeps(t *testing.T) {
	// On the host the command is a stub (main_other.go); the real one is
	// checked for js/wasm.
	deptest.Check(t, "octobase/cmd/octobase-wasm", deptest.Options{
		// Engine and query bring their own dependencies (their deps_test.go
		// rules them); a binding must not pull in the server side.
		AnyDeps:       true,
		ForbiddenDeps: []string{"net/http", "github.com/nats-io/", "octobase/server", "octobase/replication/"},
		Platforms:     []string{"js/wasm"},
	})
}
