package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// result is what one in-process run of the CLI produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with args and stdin.
func runCLI(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, bytes.NewReader(stdin), &out, &errOut)
	return result{code, out.String(), errOut.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("octobase %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestHelpGolden(t *testing.T) {
	var b strings.Builder
	for _, args := range [][]string{
		{"help"},
		{"help", "update"},
		{"help", "update", "state"},
		{"help", "update", "merge"},
		{"help", "update", "diff"},
		{"help", "update", "sv"},
		{"help", "update", "json"},
		{"help", "update", "inspect"},
		{"help", "version"},
		{"help", "help"},
	} {
		r := mustRun(t, nil, args...)
		if r.stderr != "" {
			t.Errorf("%v: stderr %q", args, r.stderr)
		}
		b.WriteString("==== octobase " + strings.Join(args, " ") + "\n" + r.stdout)
	}
	checkGolden(t, "help.golden", b.String())
}

// Every command and group answers -h and --help with its help on stdout,
// the same text `octobase help ...` prints.
func TestHelpFlags(t *testing.T) {
	var walk func(path []string, cmd *Command)
	walk = func(path []string, cmd *Command) {
		want := mustRun(t, nil, append([]string{"help"}, path...)...).stdout
		for _, h := range []string{"-h", "--help"} {
			r := mustRun(t, nil, append(append([]string{}, path...), h)...)
			if r.stdout != want || r.stderr != "" {
				t.Errorf("octobase %s %s: got stdout %q stderr %q, want the help text", strings.Join(path, " "), h, r.stdout, r.stderr)
			}
		}
		if cmd.New != nil {
			if !strings.Contains(want, "Examples:") || !strings.Contains(want, "Usage: octobase") {
				t.Errorf("help of %v lacks usage or examples:\n%s", path, want)
			}
		}
		for _, s := range cmd.Subcommands {
			walk(append(append([]string{}, path...), s.Name), s)
		}
	}
	walk(nil, rootCommand())
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // first line of stderr
	}{
		{nil, "octobase: missing command"},
		{[]string{"nope"}, `octobase: unknown command "nope"`},
		{[]string{"--nope"}, "octobase: flag provided but not defined: --nope"},
		{[]string{"update"}, "octobase: update: missing command"},
		{[]string{"update", "nope"}, `octobase: update: unknown command "nope"`},
		{[]string{"update", "state", "--nope", "a.bin"}, "octobase: update state: flag provided but not defined: --nope"},
		{[]string{"update", "state"}, "octobase: update state: no FILE given (use - to read stdin)"},
		{[]string{"help", "update", "nope"}, `octobase: help: unknown command "update nope"`},
		{[]string{"version", "x"}, `octobase: version: unexpected argument "x"`},
		{[]string{"update", "state", "--v2=maybe", "a.bin"}, `octobase: update state: invalid boolean value "maybe" for --v2: parse error`},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", tc.args, r.code, exitUsage)
		}
		if r.stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, r.stdout)
		}
		first, rest, _ := strings.Cut(r.stderr, "\n")
		if first != tc.want {
			t.Errorf("%v: stderr starts %q, want %q", tc.args, first, tc.want)
		}
		if !strings.Contains(rest, "Usage: octobase") {
			t.Errorf("%v: stderr lacks the usage:\n%s", tc.args, r.stderr)
		}
	}
}

func TestVersion(t *testing.T) {
	r := mustRun(t, nil, "version")
	if !strings.HasPrefix(r.stdout, "octobase dev") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version: %q", r.stdout)
	}
}

// A panic in a command is a bug: it is recovered, reported as an internal
// error and exits 70. (Bad input never gets here: see TestUpdateErrors and
// TestUpdateNoPanics.)
func TestPanicIsInternalError(t *testing.T) {
	root := &Command{Name: "octobase", Subcommands: []*Command{{
		Name: "boom",
		New:  func() Runner { return panicRunner{} },
	}}}
	var out, errOut bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut}
	code := runCommand(context.Background(), root, []string{"boom"}, env)
	if code != exitInternal {
		t.Fatalf("exit %d, want %d", code, exitInternal)
	}
	if first, _, _ := strings.Cut(errOut.String(), "\n"); first != "octobase: boom: internal error (please report this bug): kaboom" {
		t.Errorf("stderr: %q", first)
	}
}

type panicRunner struct{}

func (panicRunner) Flags(*flag.FlagSet) {}
func (panicRunner) Run(context.Context, *Env, []string) error {
	panic("kaboom")
}

// TestBinary builds the real binary and runs it end to end: exit codes,
// stdin, stdout and stderr through a real process.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "octobase")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	exe := func(stdin []byte, args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.Stdin = bytes.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return result{code, out.String(), errOut.String()}
	}

	r := exe(yjsABC, "update", "json", "--compact", "--root", "t:text", "-")
	if r.code != 0 || r.stdout != `{"t":"abc"}`+"\n" || r.stderr != "" {
		t.Errorf("json from stdin: %+v", r)
	}
	r = exe(yjsABC, "update", "state", "-")
	if r.code != 0 || r.stdout != string(yjsABC) {
		t.Errorf("state from stdin: %+v", r)
	}
	missing := filepath.Join(dir, "missing.bin")
	r = exe(nil, "update", "state", missing)
	if want := "octobase: update state: " + missing + ": no such file or directory\n"; r.code != 1 || r.stderr != want {
		t.Errorf("missing file: exit %d stderr %q, want 1 %q", r.code, r.stderr, want)
	}
	r = exe(nil, "frobnicate")
	if r.code != 2 || !strings.Contains(r.stderr, "Usage: octobase") {
		t.Errorf("unknown command: %+v", r)
	}
	r = exe(nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "octobase ") {
		t.Errorf("version: %+v", r)
	}
}
