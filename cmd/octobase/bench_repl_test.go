package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBenchReplicationUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-sizes", "64,x"},
		{"-sizes", "0"},
		{"-updates", "0"},
		{"-latency", "-1"},
		{"-durability", "sometimes"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"bench", "replication"}, args...), nil, &out, &errb)
		if code != exitUsage {
			t.Errorf("bench replication %v: exit %d, want %d; stderr:\n%s", args, code, exitUsage, errb.String())
		}
	}
}

// TestBenchReplicationRun runs the command with tiny counts: a table on
// stdout, progress on stderr.
func TestBenchReplicationRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"bench", "replication", "-sizes", "64", "-updates", "200",
		"-raw", "200", "-latency", "5", "-dir", t.TempDir()}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "op-log durability none") || !strings.Contains(out.String(), "64 B ") {
		t.Errorf("stdout:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "bench replication: 64 B: 200 updates applied on A") {
		t.Errorf("no progress on stderr:\n%s", errb.String())
	}
}
