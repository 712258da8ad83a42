package serverbench

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"octobase/internal/nodejs"
)

// The reference server: every cell can be run a second time against the
// y-websocket server (package @y/websocket-server under Node.js, in memory,
// with no persistence), with the same clients, so that the figures can be
// read side by side with one measured on the same machine in the same run,
// not only with the published anchor.

// Reference names accepted by Options.Reference.
const (
	RefNone       = "none"
	RefYWebsocket = "y-websocket"
	RefAuto       = "auto" // y-websocket if Node.js and the package are found, else none
)

// Server names in Result.Server.
const (
	ServerOctoBase   = "octobase"
	ServerYWebsocket = "y-websocket"
)

//go:embed refserver.cjs
var refServerJS []byte

// reference is a located y-websocket reference server.
type reference struct {
	node        string // the Node.js binary
	nodeModules string // the node_modules holding @y/websocket-server
	version     string // @y/websocket-server's version
	nodeVersion string
}

// findReference locates Node.js (nodejs.Binary) and a
// node_modules directory with @y/websocket-server: dir if given, else the
// nearest at or above the working directory or the executable's directory.
func findReference(dir string) (*reference, error) {
	node, err := nodejs.Binary()
	if err != nil {
		return nil, err
	}
	var candidates []string
	if dir != "" {
		candidates = append(candidates, dir)
	} else {
		var starts []string
		if wd, err := os.Getwd(); err == nil {
			starts = append(starts, wd)
		}
		if exe, err := os.Executable(); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
		for _, s := range starts {
			for d := s; ; d = filepath.Dir(d) {
				candidates = append(candidates, filepath.Join(d, "node_modules"))
				if filepath.Dir(d) == d {
					break
				}
			}
		}
	}
	for _, nm := range candidates {
		b, err := os.ReadFile(filepath.Join(nm, "@y", "websocket-server", "package.json"))
		if err != nil {
			continue
		}
		var pkg struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(b, &pkg); err != nil {
			return nil, fmt.Errorf("%s: @y/websocket-server/package.json: %w", nm, err)
		}
		out, err := exec.Command(node, "--version").Output()
		if err != nil {
			return nil, fmt.Errorf("%s --version: %w", node, err)
		}
		return &reference{node: node, nodeModules: nm, version: pkg.Version, nodeVersion: string(bytes.TrimSpace(out))}, nil
	}
	if dir != "" {
		return nil, fmt.Errorf("%s has no @y/websocket-server (npm ci in the repository installs it)", dir)
	}
	return nil, errors.New("no node_modules with @y/websocket-server at or above the working directory or the executable (run make deps in the repository, or pass its node_modules)")
}

func (r *reference) String() string {
	return fmt.Sprintf("@y/websocket-server %s on Node.js %s", r.version, r.nodeVersion)
}

// start runs the reference server (refserver.cjs, written into dir) as a
// child speaking the benchmark's child protocol.
func (r *reference) start(ctx context.Context, dir string, stderr io.Writer) (*child, error) {
	script := filepath.Join(dir, "refserver.cjs")
	if err := os.WriteFile(script, refServerJS, 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(r.node, "--expose-gc", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+r.nodeModules)
	cmd.Stderr = stderr
	return startProcess(ctx, cmd, "the y-websocket reference server")
}
