// Package jstest runs JavaScript reference implementations (yjs, y-protocols,
// ywasm, ...) under Node.js from Go tests, so interop tests can compare our
// bytes with the real thing.
//
// The npm packages live in <repo root>/node_modules, installed from the
// pinned package-lock.json by `make test` (or `npm ci`). Scripts are CommonJS
// and run with the repository root as working directory, so
// `require('yjs')` resolves there.
//
// Two ways to run a script:
//
//   - [Run] starts Node once per call: the input value goes to the script as
//     JSON on stdin, and the JSON the script writes to stdout is decoded into
//     the output value.
//   - [Start] keeps one Node process alive for many requests, exchanged as
//     newline-delimited JSON, for tests that make thousands of round trips.
//
// Every script gets a small prelude (see [Prelude]) that defines these globals:
//
//	b64(u8)           Uint8Array -> base64 string (Go's encoding for []byte)
//	fromB64(s)        base64 string -> Uint8Array (null stays null)
//	readInput()       parsed JSON from stdin (Run only)
//	writeOutput(v)    write v as JSON to stdout; Uint8Arrays become base64 (Run only)
//	serve(handler)    answer requests with handler(req) (may be async) (Start only)
//
// console.log and console.info are redirected to stderr, so debug printing
// never corrupts the JSON on stdout; stderr is shown when a test fails.
//
// Node is nodejs.Binary: the `node` in PATH, or the binary named by OCTOBASE_NODE. When
// Node or node_modules is missing, tests skip, except when the environment
// says they must run (OCTOBASE_REQUIRE_NODE=1, set by `make test`, or
// CI=true): then they fail.
//
// A typical test:
//
//	jstest.Available(t)
//	var out struct{ Update []byte }
//	jstest.Run(t, `
//		const Y = require('yjs')
//		const inp = readInput()
//		const doc = new Y.Doc(); doc.clientID = inp.client
//		doc.on('update', u => writeOutput({update: u}))
//		doc.getText('t').insert(0, inp.text)
//	`, map[string]any{"client": 1, "text": "abc"}, &out)
package jstest

import (
	"bufio"
	"bytes"
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
	"testing"
	"time"

	"octobase/internal/nodejs"
)

// EnvRequireNode is the environment variable that turns a missing Node.js or
// node_modules into a test failure instead of a skip. `make test` sets it.
const EnvRequireNode = "OCTOBASE_REQUIRE_NODE"

// Prelude is the JavaScript prepended to every script. It is a single line,
// so line numbers in Node's stack traces match the script's own lines. It
// only defines globals (inside an IIFE), so a script may freely declare its
// own `fs`, `Y`, etc.
const Prelude = `(() => {` +
	`const fs = require('fs');` +
	`console.log = console.error; console.info = console.error;` +
	`const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');` +
	`const fromB64 = (s) => (s === null || s === undefined) ? s : new Uint8Array(Buffer.from(s, 'base64'));` +
	`const replacer = function (k, v) { const o = this[k]; return (o instanceof Uint8Array) ? b64(o) : (typeof v === 'bigint' ? v.toString() : v) };` +
	`const encode = (v) => JSON.stringify(v === undefined ? null : v, replacer);` +
	`let written = false;` +
	`globalThis.b64 = b64;` +
	`globalThis.fromB64 = fromB64;` +
	`globalThis.readInput = () => JSON.parse(fs.readFileSync(0, 'utf8'));` +
	`globalThis.writeOutput = (v) => { if (written) throw new Error('jstest: writeOutput called twice'); written = true; process.stdout.write(encode(v)) };` +
	`globalThis.serve = (handler) => {` +
	`const rl = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity });` +
	`let chain = Promise.resolve();` +
	`rl.on('line', (line) => { chain = chain.then(async () => {` +
	`let msg;` +
	`try { msg = encode({ ok: true, result: await handler(JSON.parse(line)) }) }` +
	`catch (e) { msg = JSON.stringify({ ok: false, error: String(e && e.stack || e) }) }` +
	`process.stdout.write(msg + '\n') }) });` +
	`};` +
	`})();`

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// Root returns the repository root: the nearest directory at or above the
// working directory that holds a go.mod file.
func Root() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = fmt.Errorf("jstest: %w", err)
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("jstest: no go.mod found at or above the working directory")
				return
			}
			dir = parent
		}
	})
	return rootDir, rootErr
}

type env struct {
	node string // path of the node binary
	root string // repository root
}

var (
	envOnce sync.Once
	envVal  env
	envErr  error // what is missing, phrased for a human
)

func lookup() (env, error) {
	envOnce.Do(func() {
		root, err := Root()
		if err != nil {
			envErr = err
			return
		}
		node, err := nodejs.Binary()
		if err != nil {
			envErr = fmt.Errorf("jstest: %w", err)
			return
		}
		yjs := filepath.Join(root, "node_modules", "yjs", "package.json")
		if _, err := os.Stat(yjs); err != nil {
			envErr = fmt.Errorf("jstest: %s is missing; run `make test` (or `npm ci` in %s) to install the pinned npm packages",
				filepath.Join(root, "node_modules", "yjs"), root)
			return
		}
		envVal = env{node: node, root: root}
	})
	return envVal, envErr
}

// Required reports whether a missing Node.js or node_modules must fail tests
// instead of skipping them: when OCTOBASE_REQUIRE_NODE=1 or CI=true.
func Required() bool {
	if v := os.Getenv(EnvRequireNode); v != "" && v != "0" && !strings.EqualFold(v, "false") {
		return true
	}
	ci := os.Getenv("CI")
	return strings.EqualFold(ci, "true") || ci == "1"
}

// Available makes sure Node.js and <root>/node_modules/yjs are there. If not,
// it skips the test naming what is missing, or fails it when [Required].
// Run and Start call it themselves; call it first to skip before doing
// expensive setup.
func Available(t testing.TB) {
	t.Helper()
	if _, err := lookup(); err != nil {
		if Required() {
			t.Fatalf("%v (required because %s=1 or CI=true)", err, EnvRequireNode)
		}
		t.Skipf("%v; skipping", err)
	}
}

// command builds the node command for script. The prelude and the script
// are passed with --eval, so require() resolves from the repository root.
func command(ctx context.Context, e env, script string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.node, "--input-type=commonjs", "--eval", Prelude+script)
	cmd.Dir = e.root
	cmd.Env = append(os.Environ(), "NODE_NO_WARNINGS=1")
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs script with Node.js and fails the test if it exits non-zero or
// its output does not decode. input is marshalled to JSON and given on stdin
// (readInput() in the script); a nil input is sent as null. The script's
// stdout (writeOutput(v) in the script) is decoded into output unless output
// is nil. []byte values travel as base64 both ways.
func Run(t testing.TB, script string, input any, output any) {
	t.Helper()
	Available(t)
	e, _ := lookup()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatalf("jstest: marshal input: %v", err)
	}
	var stdout, stderr bytes.Buffer
	cmd := command(t.Context(), e, script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("jstest: node failed: %v\n--- stderr ---\n%s\n--- script ---\n%s", err, stderr.String(), numbered(script))
	}
	if output == nil {
		return
	}
	if err := json.Unmarshal(stdout.Bytes(), output); err != nil {
		t.Fatalf("jstest: decode node output: %v\n--- stdout (%d bytes) ---\n%s\n--- stderr ---\n%s",
			err, stdout.Len(), clip(stdout.String(), 2000), stderr.String())
	}
}

// Proc is a long-lived Node.js process that answers requests, one JSON
// value per line each way. Its script calls serve(handler); handler receives
// each request (decoded JSON) and returns the response (or a Promise of it).
// Requests are handled one at a time, in order. Call is safe for concurrent
// use; calls are serialized.
type Proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *lockedBuffer
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	err    error // sticky: the process is unusable after a transport error
}

// Start starts script under Node.js and returns the process; it is stopped
// when the test ends (t.Cleanup). The script must call serve(handler).
func Start(t testing.TB, script string) *Proc {
	t.Helper()
	Available(t)
	e, _ := lookup()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := command(ctx, e, script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatalf("jstest: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("jstest: %v", err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("jstest: start node: %v", err)
	}
	p := &Proc{t: t, cmd: cmd, stdin: stdin, stdout: bufio.NewReaderSize(stdout, 1<<16), stderr: stderr, cancel: cancel}
	t.Cleanup(p.close)
	return p
}

// Call sends req to the script's handler and decodes its result into resp
// (unless resp is nil). An exception thrown by the handler comes back as an
// error holding the JavaScript stack; the process stays usable. If the
// process died or wrote something that is not a response line, the error
// includes its stderr and every later Call fails too.
func (p *Proc) Call(req any, resp any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("jstest: Call on a stopped process")
	}
	if p.err != nil {
		return p.err
	}
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("jstest: marshal request: %w", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return p.fail(fmt.Errorf("jstest: write request: %w", err))
	}
	reply, err := p.stdout.ReadBytes('\n')
	if err != nil {
		return p.fail(fmt.Errorf("jstest: read response: %w", err))
	}
	var env struct {
		OK     bool            `json:"ok"`
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
	}
	if err := json.Unmarshal(reply, &env); err != nil {
		return p.fail(fmt.Errorf("jstest: bad response line %q: %w", clip(string(reply), 500), err))
	}
	if !env.OK {
		return fmt.Errorf("jstest: script error: %s", env.Error)
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(env.Result, resp); err != nil {
		return fmt.Errorf("jstest: decode response: %w (response %s)", err, clip(string(env.Result), 500))
	}
	return nil
}

// Stderr returns what the process has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// fail records a transport error, waits briefly for the process so its
// stderr is complete, and returns the error with stderr attached.
func (p *Proc) fail(err error) error {
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			p.cancel()
		}
	}()
	_ = p.stdin.Close()
	waitErr := p.cmd.Wait()
	close(done)
	p.err = fmt.Errorf("%w (node: %v)\n--- stderr ---\n%s", err, waitErr, p.stderr.String())
	p.closed = true
	return p.err
}

// close stops the process: it closes stdin so serve() ends and Node exits,
// and kills it if it has not exited within 5 seconds.
func (p *Proc) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	_ = p.stdin.Close()
	timer := time.AfterFunc(5*time.Second, p.cancel)
	err := p.cmd.Wait()
	timer.Stop()
	p.cancel()
	if err != nil && p.err == nil {
		p.t.Errorf("jstest: node exited with %v\n--- stderr ---\n%s", err, p.stderr.String())
	} else if p.t.Failed() && p.stderr.Len() > 0 {
		p.t.Logf("jstest: node stderr:\n%s", p.stderr.String())
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func numbered(script string) string {
	var sb strings.Builder
	for i, line := range strings.Split(script, "\n") {
		fmt.Fprintf(&sb, "%4d  %s\n", i+1, line)
	}
	return sb.String()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("... (%d more bytes)", len(s)-n)
}
