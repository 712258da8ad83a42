package freeport

import (
	"testing"

	"octobase/internal/deptest"
)

// freeport is a leaf: the standard library only.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/internal/freeport", deptest.Options{ForbiddenDeps: []string{"octobase/", "github.com/"}})
}
