package bindings

import (
	"testing"

	"octobase/internal/deptest"
)

// TestDeps: the package holds only documentation and tests.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/bindings", deptest.Options{})
}
