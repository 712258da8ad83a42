package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchServerUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "10,x"},
		{"-clients", "0"},
		{"-scenarios", "one,few"},
		{"-durability", "sometimes"},
		{"-writers", "0"},
		{"-duration", "0s"},
		{"-warmup", "-1s"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"bench", "server"}, args...), nil, &out, &errb)
		if code != exitUsage {
			t.Errorf("bench server %v: exit %d, want %d; stderr:\n%s", args, code, exitUsage, errb.String())
		}
	}
}

// TestBenchServerBinary runs `octobase bench server` through the real
// binary, which re-executes itself as the server.
func TestBenchServerBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "octobase")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "bench", "server", "-clients", "12", "-writers", "3", "-duration", "500ms", "-durability", "none", "-dir", t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"one        12      1       3", "many       12      1       1", "anchor (y/hub"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "bench server: octobase, one, 12 clients: editing for 500ms (3 writers)") {
		t.Errorf("no progress on stderr:\n%s", errb.String())
	}
}
