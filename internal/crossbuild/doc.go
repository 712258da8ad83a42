// Package crossbuild holds the build-matrix check: the pure-Go core and the
// octobase binary must cross-compile with CGO_ENABLED=0 for every common OS
// and CPU (Targets). The check is a test (crossbuild_test.go); `make dist`
// builds release binaries for the same targets.
package crossbuild

// Targets are the GOOS/GOARCH pairs OctoBase builds for.
var Targets = []string{
	"linux/amd64", "linux/arm64", "linux/riscv64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
	"js/wasm", "wasip1/wasm",
}
