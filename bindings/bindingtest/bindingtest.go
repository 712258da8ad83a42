// Package bindingtest holds helpers for the tests of OctoBase's language
// bindings (bindings/c, bindings/python, bindings/js): building the C library
// and the WebAssembly module into a test's temporary directory, finding the
// tools the tests need, and a Go-side peer workspace to sync with.
//
// Libraries are built with a separate `go build` without -race (a c-shared
// library cannot be built with the race detector into a process that is not
// Go), sharing the go command's build cache, so only the first run pays for
// compiling.
package bindingtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"octobase/engine"
	"octobase/engine/crdt"
)

// Root returns the repository root (the directory of go.mod).
func Root(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		t.Fatalf("not inside the octobase module")
	}
	return filepath.Dir(mod)
}

// Tool returns the path of a command the test needs, failing the test with
// a clear message when it is missing: gcc, python3 and node are expected on
// every development and CI machine of this project.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required by this test but was not found in PATH (install it): %v", name, err)
	}
	return p
}

// Run runs cmd, failing the test with its output when it fails, and returns
// its stdout.
func Run(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(cmd.Args, " "), err, stdout.String(), stderr.String())
	}
	t.Logf("%s (%v)", strings.Join(cmd.Args, " "), time.Since(start).Round(time.Millisecond))
	if stderr.Len() > 0 {
		t.Logf("stderr:\n%s", stderr.String())
	}
	return stdout.String()
}

// Track stats files that a test uses only through another process (a C
// source, a Python or JavaScript script), so that `go test`'s result cache,
// which watches the files the test process itself opens or stats, reruns
// the test when they change.
func Track(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
}

// trackSources tracks (see Track) every non-standard-library Go source file
// that pkg is built from, for the given environment.
func trackSources(t testing.TB, env []string, pkg string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .CgoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`, pkg)
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	Track(t, strings.Fields(string(out))...)
}

func goBuild(t testing.TB, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build"}, args...)...)
	cmd.Dir = Root(t)
	cmd.Env = append(os.Environ(), env...)
	Run(t, cmd)
}

// Library is a built liboctobase.
type Library struct {
	Dir       string // the directory holding the files below
	Path      string // liboctobase.so / .a
	Generated string // the header `go build` wrote next to it
	Header    string // the hand-written cmd/liboctobase/octobase.h
}

// built caches the libraries and modules built by this test process, in
// directories Main removes.
var built struct {
	sync.Mutex
	dirs []string
	libs map[string]Library
	wasm string
}

// Main runs the tests of a package that uses BuildLibrary or BuildWasm and
// removes what they built. Call it from TestMain:
//
//	func TestMain(m *testing.M) { bindingtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	built.Lock()
	for _, d := range built.dirs {
		os.RemoveAll(d)
	}
	built.Unlock()
	os.Exit(code)
}

func buildDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "octobase-binding-")
	if err != nil {
		t.Fatal(err)
	}
	built.dirs = append(built.dirs, d)
	return d
}

// BuildLibrary builds cmd/liboctobase with -buildmode=mode ("c-shared" or
// "c-archive") into a temporary directory, once per test process (see Main).
func BuildLibrary(t testing.TB, mode string) Library {
	t.Helper()
	Tool(t, "gcc")
	built.Lock()
	defer built.Unlock()
	if l, ok := built.libs[mode]; ok {
		return l
	}
	dir := buildDir(t)
	name := "liboctobase.so"
	if mode == "c-archive" {
		name = "liboctobase.a"
	}
	out := filepath.Join(dir, name)
	goBuild(t, []string{"CGO_ENABLED=1"}, "-buildmode="+mode, "-o", out, "./cmd/liboctobase")
	trackSources(t, []string{"CGO_ENABLED=1"}, "./cmd/liboctobase")
	l := Library{
		Dir:       dir,
		Path:      out,
		Generated: strings.TrimSuffix(out, filepath.Ext(out)) + ".h",
		Header:    filepath.Join(Root(t), "cmd", "liboctobase", "octobase.h"),
	}
	if built.libs == nil {
		built.libs = map[string]Library{}
	}
	built.libs[mode] = l
	return l
}

// BuildWasm builds cmd/octobase-wasm for GOOS=js GOARCH=wasm, once per test
// process (see Main), and returns the module's path.
func BuildWasm(t testing.TB) string {
	t.Helper()
	built.Lock()
	defer built.Unlock()
	if built.wasm != "" {
		return built.wasm
	}
	out := filepath.Join(buildDir(t), "octobase.wasm")
	env := []string{"GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0"}
	goBuild(t, env, "-o", out, "./cmd/octobase-wasm")
	trackSources(t, env, "./cmd/octobase-wasm")
	built.wasm = out
	return out
}

var (
	protoRE = regexp.MustCompile(`(?s)(?:^|\n)\s*(?:extern\s+)?int32_t\s+(octobase_\w+)\s*\(([^)]*)\)\s*;`)
	nameRE  = regexp.MustCompile(`\w+$`)
)

// prototypes returns the octobase_* functions declared in a C header, each
// as its normalized parameter types ("int64_t,char*,char**"): const and
// parameter names dropped, so the hand-written header's const-correct
// declarations compare equal to the ones cgo writes.
func prototypes(t testing.TB, path string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Drop comments.
	s := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(src), "")
	s = regexp.MustCompile(`//[^\n]*`).ReplaceAllString(s, "")
	out := map[string]string{}
	for _, m := range protoRE.FindAllStringSubmatch(s, -1) {
		var params []string
		for _, p := range strings.Split(m[2], ",") {
			p = strings.TrimSpace(strings.ReplaceAll(p, "const ", ""))
			if p != "void" && strings.Contains(p, " ") || strings.Contains(p, "*") {
				p = strings.TrimSpace(nameRE.ReplaceAllString(p, ""))
			}
			params = append(params, strings.ReplaceAll(p, " ", ""))
		}
		out[m[1]] = strings.Join(params, ",")
	}
	return out
}

// CheckHeader fails the test unless the hand-written header declares exactly
// the functions the library exports, with the same parameter types (up to
// const).
func (l Library) CheckHeader(t testing.TB) {
	t.Helper()
	want := prototypes(t, l.Generated)
	got := prototypes(t, l.Header)
	if len(want) == 0 {
		t.Fatalf("no octobase_* functions found in %s", l.Generated)
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if want[n] != got[n] {
			t.Errorf("%s: octobase.h declares (%s), the library exports (%s)", n, got[n], want[n])
		}
	}
}

// Peer is a Go-side workspace, in a store of its own, for a binding to sync
// with.
type Peer struct {
	Store *engine.Store
	WS    *engine.Workspace
}

// NewPeer opens workspace name in a new store in a temporary directory, with
// CRDT client id client.
func NewPeer(t testing.TB, name string, client uint64) *Peer {
	t.Helper()
	s, err := engine.Open(t.TempDir(), &engine.Options{
		IdleTimeout: -1,
		ClientID:    func(string) (uint64, error) { return client, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ws, err := s.Workspace(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return &Peer{Store: s, WS: ws}
}

// Edit runs fn in a transaction and returns the update it produced (the
// workspace's state as a diff against its state vector before the edit).
func (p *Peer) Edit(t testing.TB, fn func(b *engine.Blocks) error) []byte {
	t.Helper()
	ctx := context.Background()
	sv, err := p.WS.StateVector(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WS.Transact(ctx, "go", func(_ *crdt.Txn, b *engine.Blocks) error { return fn(b) }); err != nil {
		t.Fatal(err)
	}
	u, err := p.WS.EncodeStateAsUpdate(ctx, sv)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Apply applies an update from the binding.
func (p *Peer) Apply(t testing.TB, update []byte) {
	t.Helper()
	if _, err := p.WS.Apply(context.Background(), update, "binding"); err != nil {
		t.Fatalf("apply the binding's update: %v", err)
	}
}

// StateVector returns the peer's state vector, encoded.
func (p *Peer) StateVector(t testing.TB) []byte {
	t.Helper()
	sv, err := p.WS.StateVector(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

// Get returns a block of the peer, failing the test if it is missing.
func (p *Peer) Get(t testing.TB, id engine.BlockID) engine.BlockView {
	t.Helper()
	b, ok, err := p.WS.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatalf("Go peer: block %q not found", id)
	}
	return b
}

// SameState fails the test unless the peer's state vector equals sv (both
// encoded), i.e. both sides hold the same updates.
func (p *Peer) SameState(t testing.TB, sv []byte) {
	t.Helper()
	a, err := crdt.DecodeStateVector(p.StateVector(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := crdt.DecodeStateVector(sv)
	if err != nil {
		t.Fatalf("the binding's state vector: %v", err)
	}
	if len(a) != len(b) {
		t.Fatalf("state vectors differ: Go %v, binding %v", a, b)
	}
	for k, v := range a {
		if b[k] != v {
			t.Fatalf("state vectors differ: Go %v, binding %v", a, b)
		}
	}
}
