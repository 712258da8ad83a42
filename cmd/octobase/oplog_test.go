package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"octobase/oplog"
)

func TestOplogVerifyAndDump(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	l, err := oplog.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := l.Append(context.Background(), oplog.Record{Data: []byte{1, 1, byte(i), 0}, Origin: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"oplog", "verify", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("verify exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "5 records") {
		t.Fatalf("verify output: %s", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"oplog", "dump", "--from", "4", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("dump exit %d: %s", code, errb.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines != 2 {
		t.Fatalf("dump from 4 printed %d lines:\n%s", lines, out.String())
	}
	// Corrupt a byte in the middle of the segment: verify names the file.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	b, _ := os.ReadFile(segs[0])
	b[40] ^= 0xff
	if err := os.WriteFile(segs[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	code := run(context.Background(), []string{"oplog", "verify", dir}, nil, &out, &errb)
	if code == 0 && !strings.Contains(out.String(), "torn") {
		t.Fatalf("corrupted log verified clean: %s", out.String())
	}
	if code != 0 && !strings.Contains(errb.String(), ".seg") {
		t.Fatalf("error does not name the segment: %s", errb.String())
	}
	if code := run(context.Background(), []string{"oplog", "dump", "--from", "x", dir}, nil, &out, &errb); code != exitUsage {
		t.Fatalf("bad --from: exit %d", code)
	}
}
