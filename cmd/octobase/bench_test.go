package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBenchMergeSmall(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"bench", "merge", "-n", "100", "-only", "^B1.1$", "-impl", "octobase"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "B1.1") {
		t.Fatalf("no B1.1 in output:\n%s", out.String())
	}
	if code := run(context.Background(), []string{"bench", "merge", "-only", "("}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("bad regexp: exit %d", code)
	}
}
