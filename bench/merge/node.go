package merge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"octobase/internal/nodejs"
)

// script is the Node.js side of the suite, relative to the repository root.
const script = "bench/js/bench.cjs"

// nodeArgs are the flags every Node.js process gets: --expose-gc for the
// memory figures (global.gc()), and room for B4x100's heap.
var nodeArgs = []string{"--expose-gc", "--max-old-space-size=8192"}

// findNode returns the node binary for impl (an npm package name), or a
// reason why impl cannot run, phrased as a table cell.
func findNode(root, impl string) (node, na string) {
	node, err := nodejs.Binary()
	if err != nil {
		return "", "n/a (node missing)"
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", impl, "package.json")); err != nil {
		return "", "n/a (node_modules missing: npm ci)"
	}
	if _, err := os.Stat(filepath.Join(root, script)); err != nil {
		return "", "n/a (" + script + " missing)"
	}
	return node, ""
}

// nodeImpl runs one implementation (yjs or ywasm) in a Node.js process
// that answers one JSON request per line (see bench/js/bench.cjs).
// A process that dies is restarted for the next benchmark.
type nodeImpl struct {
	name, node, root string
	files            map[string]string
	version          string // of the npm package
	nodeVersion      string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *tailBuffer
	cancel context.CancelFunc
}

func newNodeImpl(ctx context.Context, root, node, name string, files map[string]string) (*nodeImpl, error) {
	n := &nodeImpl{name: name, node: node, root: root, files: files}
	var hello struct {
		Version string `json:"version"`
		Node    string `json:"node"`
		GC      bool   `json:"gc"`
		Error   string `json:"error"`
	}
	if err := n.call(ctx, map[string]any{"op": "hello"}, &hello); err != nil {
		n.Close()
		return nil, err
	}
	if hello.Error != "" {
		n.Close()
		return nil, fmt.Errorf("merge: %s: %s", name, hello.Error)
	}
	if !hello.GC {
		n.Close()
		return nil, fmt.Errorf("merge: %s: global.gc is missing (node without --expose-gc?)", name)
	}
	n.version, n.nodeVersion = hello.Version, hello.Node
	return n, nil
}

func (n *nodeImpl) Name() string    { return n.name }
func (n *nodeImpl) Version() string { return n.version }

func (n *nodeImpl) start(ctx context.Context) error {
	pctx, cancel := context.WithCancel(ctx)
	args := append(append([]string(nil), nodeArgs...), script, n.name)
	cmd := exec.CommandContext(pctx, n.node, args...)
	cmd.Dir = n.root
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		return err
	}
	n.stderr = &tailBuffer{max: 8 << 10}
	cmd.Stderr = n.stderr
	if err := cmd.Start(); err != nil {
		cancel()
		return fmt.Errorf("merge: start %s: %w", n.name, err)
	}
	n.cmd, n.stdin, n.stdout, n.cancel = cmd, stdin, bufio.NewReaderSize(stdout, 1<<16), cancel
	return nil
}

// call sends req and decodes the answer into resp, starting the process
// if needed. On any failure the process is stopped (and restarted by the
// next call).
func (n *nodeImpl) call(ctx context.Context, req any, resp any) error {
	if n.cmd == nil {
		if err := n.start(ctx); err != nil {
			return err
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if _, err := n.stdin.Write(append(b, '\n')); err != nil {
		return n.died(err)
	}
	line, err := n.stdout.ReadBytes('\n')
	if err != nil {
		return n.died(err)
	}
	if err := json.Unmarshal(line, resp); err != nil {
		return n.died(fmt.Errorf("bad answer %.200q: %w", line, err))
	}
	return nil
}

func (n *nodeImpl) died(err error) error {
	n.Close()
	msg := strings.TrimSpace(n.stderr.String())
	if msg != "" {
		return fmt.Errorf("merge: %s process: %v; stderr: %s", n.name, err, msg)
	}
	return fmt.Errorf("merge: %s process: %w", n.name, err)
}

func (n *nodeImpl) Run(ctx context.Context, b Benchmark, size int) Measure {
	var m Measure
	req := map[string]any{"op": "run", "id": b.ID, "n": size, "files": n.files}
	if err := n.call(ctx, req, &m); err != nil {
		return Measure{Error: err.Error()}
	}
	if m.Error != "" {
		return Measure{Error: m.Error}
	}
	return m
}

func (n *nodeImpl) Warmup(ctx context.Context, b Benchmark, size int) {
	var m Measure
	req := map[string]any{"op": "run", "id": b.ID, "n": size, "files": n.files, "warmup": true}
	_ = n.call(ctx, req, &m) // a failure shows again in the measured run
}

// prng asks the process for the first values of the seeded PRNG.
func (n *nodeImpl) prng(ctx context.Context, count int) (values []uint32, word string, intn int, err error) {
	var resp struct {
		Values []uint32 `json:"values"`
		Word   string   `json:"word"`
		Intn   int      `json:"intn"`
		Error  string   `json:"error"`
	}
	if err := n.call(ctx, map[string]any{"op": "prng", "count": count}, &resp); err != nil {
		return nil, "", 0, err
	}
	if resp.Error != "" {
		return nil, "", 0, errors.New(resp.Error)
	}
	return resp.Values, resp.Word, resp.Intn, nil
}

// Close stops the process.
func (n *nodeImpl) Close() error {
	if n.cmd == nil {
		return nil
	}
	n.stdin.Close()
	done := make(chan struct{})
	go func() {
		n.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		n.cancel()
		<-done
	}
	n.cancel()
	n.cmd = nil
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
