package js

import (
	"testing"

	"octobase/internal/deptest"
)

// TestDeps: the package is its tests; its own files import nothing but the
// standard library.
func TestDeps(t *testing.T) {
	deptest.Check(t, "octobase/bindings/js", deptest.Options{})
}
