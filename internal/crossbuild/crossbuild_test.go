package crossbuild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCrossCompile builds the core packages and the octobase binary for
// every target with CGO_ENABLED=0. Cross-compiling the standard library
// takes tens of seconds per target on a cold cache, so -short skips it.
func TestCrossCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiling every target takes minutes; run without -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	for _, target := range Targets {
		goos, goarch, _ := strings.Cut(target, "/")
		t.Run(strings.ReplaceAll(target, "/", "-"), func(t *testing.T) {
			pkgs := []string{"./engine/...", "./oplog/...", "./index/...", "./query/...", "./replication/...", "./bindings/ffi"}
			out := filepath.Join(t.TempDir(), "octobase")
			cmd := exec.Command(goBin, "build", "-o", out, "./cmd/octobase")
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("octobase for %s: %v\n%s", target, err, b)
			}
			cmd = exec.Command(goBin, append([]string{"build"}, pkgs...)...)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("core packages for %s: %v\n%s", target, err, b)
			}
		})
	}
}
