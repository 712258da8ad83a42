package oplog

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the package's dependencies to those DESIGN.md allows: the
// standard library and klauspost/compress (vfs: the standard library only).
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	allowed := map[string][]string{
		"octobase/oplog":     {"octobase/oplog/", "github.com/klauspost/compress"},
		"octobase/oplog/vfs": {},
	}
	for pkg, prefixes := range allowed {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
	next:
		for _, dep := range strings.Fields(string(out)) {
			if dep == pkg {
				continue
			}
			for _, p := range prefixes {
				if strings.HasPrefix(dep, p) {
					continue next
				}
			}
			t.Errorf("%s depends on %s", pkg, dep)
		}
	}
}
