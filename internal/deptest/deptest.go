// Package deptest checks a package's imports against the layering rules in
// docs/DESIGN.md, from a test (compare tailscale's tstest/deptest and
// pebble's TestForbiddenImports). A package's deps_test.go typically reads:
//
//	func TestDeps(t *testing.T) {
//		deptest.Check(t, "octobase/engine/crdt", deptest.Options{
//			Allowed:         []string{"octobase/engine/lib0"},
//			ForbiddenDirect: []string{"os", "time", "net/http"},
//			ForbiddenDeps:   []string{"net", "github.com/nats-io/"},
//			Platforms:       deptest.Wasm,
//		})
//	}
//
// The facts come from `go list -deps -json`, so the check sees exactly what
// the go command builds (build tags and GOOS/GOARCH included, test files
// excluded).
//
// Patterns. In Allowed and ForbiddenDeps an entry matches an import path
// equal to it or below it ("github.com/nats-io" matches
// "github.com/nats-io/nats.go"); an entry ending in "/" matches by plain
// string prefix. In ForbiddenDirect an entry matches only that exact path
// ("os" does not ban "os/exec"), unless it ends in "/..." (then the path
// and everything below it). "/..." is accepted in the other lists too.
package deptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Options says what a package may import. The zero value allows the
// standard library only.
type Options struct {
	// Allowed lists the non-standard-library import paths (patterns) that
	// the package may depend on, directly or transitively, including
	// packages of this module. Anything else outside the standard library
	// is a violation. A nil list means the standard library only; use
	// AnyDeps to skip this check.
	Allowed []string
	// AnyDeps turns the Allowed check off.
	AnyDeps bool
	// ForbiddenDirect lists import paths the package must not import
	// itself (its Imports, not its transitive Deps). Use it for "os",
	// "time" and the like, which the standard library itself imports.
	ForbiddenDirect []string
	// ForbiddenDeps lists patterns the package must not depend on at all,
	// even through another package, standard library or not
	// (e.g. "net", "net/http", "github.com/nats-io/").
	ForbiddenDeps []string
	// Platforms lists extra GOOS/GOARCH pairs ("js/wasm") to check, with
	// CGO_ENABLED=0, in addition to the host. The package must build
	// (list without errors) on each.
	Platforms []string
	// Tags are build tags passed to go list (-tags).
	Tags []string
}

// Wasm is the WebAssembly platforms the CRDT core must build for.
var Wasm = []string{"js/wasm", "wasip1/wasm"}

// Check runs go list for pkg (once for the host, once per extra platform)
// and reports every rule violation with t.Errorf, naming the import chain
// that pulls a forbidden package in. It fails the test with t.Fatalf if go
// list itself fails.
func Check(t testing.TB, pkg string, opts Options) {
	t.Helper()
	problems, err := Problems(pkg, opts)
	if err != nil {
		t.Fatalf("deptest: %v", err)
	}
	for _, p := range problems {
		t.Errorf("deptest: %s", p)
	}
}

// Problems is Check without a testing.TB: it returns one message per
// violation, or an error if go list fails.
func Problems(pkg string, opts Options) ([]string, error) {
	var problems []string
	for _, platform := range append([]string{""}, opts.Platforms...) {
		goos, goarch := "", ""
		if platform != "" {
			var ok bool
			goos, goarch, ok = strings.Cut(platform, "/")
			if !ok || goos == "" || goarch == "" {
				return nil, fmt.Errorf("bad platform %q, want GOOS/GOARCH", platform)
			}
		}
		pkgs, err := list(pkg, goos, goarch, opts.Tags)
		if err != nil {
			return nil, err
		}
		where := ""
		if platform != "" {
			where = " (GOOS=" + goos + " GOARCH=" + goarch + ")"
		}
		problems = append(problems, check(pkgs, opts, where)...)
	}
	return problems, nil
}

// Package is the part of `go list -json` output deptest reads.
type Package struct {
	ImportPath string
	Standard   bool
	Imports    []string
	DepOnly    bool
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }
}

// list runs `go list -deps -json pkg` and returns the packages, the
// requested (root) ones last among those with DepOnly unset.
func list(pkg, goos, goarch string, tags []string) ([]Package, error) {
	args := []string{"list", "-deps", "-json=ImportPath,Standard,Imports,DepOnly,Error,DepsErrors"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, pkg)
	cmd := exec.Command(goCommand(), args...)
	cmd.Env = os.Environ()
	if goos != "" {
		cmd.Env = append(cmd.Env, "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	desc := "go " + strings.Join(args, " ")
	if goos != "" {
		desc = "GOOS=" + goos + " GOARCH=" + goarch + " " + desc
	}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v\n%s", desc, err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(&stdout)
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: decode output: %v", desc, err)
		}
		if p.Error != nil {
			return nil, fmt.Errorf("%s: %s: %s", desc, p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("%s: no packages", desc)
	}
	return pkgs, nil
}

// goCommand is the go binary: $GOROOT/bin/go when the go command set GOROOT
// for us (go test does), else whatever "go" is in PATH.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := root + "/bin/go"
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

func check(pkgs []Package, opts Options, where string) []string {
	byPath := make(map[string]*Package, len(pkgs))
	var roots []*Package
	for i := range pkgs {
		p := &pkgs[i]
		byPath[p.ImportPath] = p
		if !p.DepOnly {
			roots = append(roots, p)
		}
	}
	var problems []string
	for _, root := range roots {
		for _, imp := range root.Imports {
			if pat, ok := matchAny(opts.ForbiddenDirect, imp, false); ok {
				problems = append(problems, fmt.Sprintf("%s imports %s directly, forbidden by %q%s",
					root.ImportPath, imp, pat, where))
			}
		}
		paths := importPaths(root, byPath)
		deps := make([]string, 0, len(paths))
		for dep := range paths {
			deps = append(deps, dep)
		}
		sort.Strings(deps)
		for _, dep := range deps {
			if dep == root.ImportPath {
				continue
			}
			chain := strings.Join(paths[dep], " -> ")
			if pat, ok := matchAny(opts.ForbiddenDeps, dep, true); ok {
				problems = append(problems, fmt.Sprintf("%s depends on %s, forbidden by %q%s: %s",
					root.ImportPath, dep, pat, where, chain))
				continue
			}
			p := byPath[dep]
			if opts.AnyDeps || p == nil || p.Standard {
				continue
			}
			if _, ok := matchAny(opts.Allowed, dep, true); !ok {
				problems = append(problems, fmt.Sprintf("%s depends on %s, which is not in Allowed %q%s: %s",
					root.ImportPath, dep, opts.Allowed, where, chain))
			}
		}
	}
	return problems
}

// importPaths finds, by breadth-first search from root, a shortest import
// chain to every package root depends on.
func importPaths(root *Package, byPath map[string]*Package) map[string][]string {
	paths := map[string][]string{root.ImportPath: {root.ImportPath}}
	queue := []string{root.ImportPath}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		p := byPath[cur]
		if p == nil {
			continue
		}
		for _, imp := range p.Imports {
			if _, seen := paths[imp]; seen {
				continue
			}
			paths[imp] = append(slices.Clip(paths[cur]), imp)
			queue = append(queue, imp)
		}
	}
	return paths
}

// matchAny reports the first pattern in pats that matches path. With prefix
// set, a plain pattern also matches paths below it.
func matchAny(pats []string, path string, prefix bool) (string, bool) {
	for _, pat := range pats {
		if match(pat, path, prefix) {
			return pat, true
		}
	}
	return "", false
}

func match(pat, path string, prefix bool) bool {
	switch {
	case strings.HasSuffix(pat, "/..."):
		base := strings.TrimSuffix(pat, "/...")
		return path == base || strings.HasPrefix(path, base+"/")
	case strings.HasSuffix(pat, "/"):
		return strings.HasPrefix(path, pat)
	case prefix:
		return path == pat || strings.HasPrefix(path, pat+"/")
	default:
		return path == pat
	}
}
