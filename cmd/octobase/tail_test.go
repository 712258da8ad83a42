package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestTailHistory replays the history of queryStore's workspace (one
// record creating four blocks) with and without predicates.
func TestTailHistory(t *testing.T) {
	dir := queryStore(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--from", "1"},
			`{"lsn":1,"time":"2024-05-01T12:00:00Z","origin":"test","blocks":[` +
				`{"space":"blocks","id":"page-1","op":"created"},{"space":"blocks","id":"page-2","op":"created"},` +
				`{"space":"blocks","id":"para-1","op":"created"},{"space":"blocks","id":"para-2","op":"created"}]}` + "\n"},
		{[]string{"--from", "1", "--where", "creator = $1 AND CHILD OF 'page-1'", "bob"},
			`{"lsn":1,"time":"2024-05-01T12:00:00Z","origin":"test","blocks":[{"space":"blocks","id":"para-2","op":"created"}]}` + "\n"},
		{[]string{"--from", "1", "--where", "type = 'nothing'"}, ""},
		{[]string{}, ""}, // from now: no history to print
	} {
		args := append([]string{"tail", "--data", dir, "-w", "notes", "--no-follow"}, tc.args...)
		r := mustRun(t, nil, args...)
		if r.stdout != tc.want {
			t.Errorf("%q:\ngot:  %s\nwant: %s", tc.args, r.stdout, tc.want)
		}
		if r.stdout != "" {
			var line tailLine
			if err := json.Unmarshal([]byte(r.stdout), &line); err != nil {
				t.Errorf("%q: not JSON: %v", tc.args, err)
			}
		}
	}
}

// TestTailFollow: without --no-follow, tail prints the history and keeps
// following until interrupted, then exits 0.
func TestTailFollow(t *testing.T) {
	dir := queryStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer // serve_test.go
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"tail", "--data", dir, "-w", "notes", "--from", "1", "--where", "type = 'affine:page'"}, nil, &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("tail exited (%d) while following; stderr: %s", code, errOut.String())
	default:
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d after interrupt; stderr: %s", code, errOut.String())
	}
	if want := `"blocks":[{"space":"blocks","id":"page-1","op":"created"},{"space":"blocks","id":"page-2","op":"created"}]}`; !strings.Contains(out.String(), want) {
		t.Fatalf("output %q lacks %q", out.String(), want)
	}
}

func TestTailErrors(t *testing.T) {
	dir := queryStore(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tail", "--data", dir}, exitUsage, "missing -w"},
		{[]string{"tail", "--data", dir, "-w", "notes", "--where", "type = "}, exitUsage, "^"},
		{[]string{"tail", "--data", dir, "-w", "notes", "--where", "type = $1"}, exitUsage, "1 parameters, got 0"},
		{[]string{"tail", "--data", dir, "-w", "notes", "x"}, exitUsage, "without --where"},
		{[]string{"tail", "--data", dir, "-w", "nope"}, exitError, `no workspace "nope"`},
		{[]string{"tail", "--data", dir, "-w", "notes", "--from", "9"}, exitError, "future"},
	} {
		r := runCLI(t, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%q: exit %d, stderr:\n%s", tc.args, r.code, r.stderr)
		}
	}
}
