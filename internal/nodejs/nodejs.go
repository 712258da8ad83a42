// Package nodejs finds the Node.js binary that the interop tests
// (internal/jstest) and the benchmarks' JavaScript references (bench/merge,
// bench/serverbench) run: the one named by the OCTOBASE_NODE environment
// variable, else node in PATH. It owns nothing else; finding the npm
// packages is each caller's business.
package nodejs

import (
	"fmt"
	"os"
	"os/exec"
)

// Env names the Node.js binary to use instead of the node in PATH.
const Env = "OCTOBASE_NODE"

// Binary returns the path of the Node.js binary, or an error saying how to
// provide one.
func Binary() (string, error) {
	name := os.Getenv(Env)
	if name == "" {
		name = "node"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("Node.js (%s) not found: install Node.js 18 or newer, or set %s to its binary", name, Env)
	}
	return path, nil
}
