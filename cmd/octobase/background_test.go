package main

import (
	"context"
	"flag"
	"io"
	"sync"
	"testing"
	"time"
)

// background is a listening command (serve, sync --listen) running
// in-process, stopped when the test ends if the test did not stop it.
type background struct {
	name   string
	addr   string
	stderr *syncBuffer

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan error
	err      error
}

// startBackground parses args into r's flags and runs r until it reports
// its address through the runner's ready hook (*ready).
func startBackground(t *testing.T, name string, r Runner, ready *func(string), args ...string) *background {
	t.Helper()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	r.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	*ready = func(a string) { addrc <- a }
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{name: name, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- r.Run(ctx, &Env{Stderr: b.stderr, Stdout: io.Discard}, fs.Args()) }()
	t.Cleanup(func() {
		if err := b.stop(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, b.stderr.String())
		}
	})
	select {
	case b.addr = <-addrc:
	case err := <-b.done:
		b.done <- err
		t.Fatalf("%s ended early: %v\n%s", name, err, b.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start", name)
	}
	return b
}

// stop cancels the command (as SIGINT does through main's context) and
// returns what Run returned; later calls return the same.
func (b *background) stop() error {
	b.stopOnce.Do(func() {
		b.cancel()
		select {
		case b.err = <-b.done:
		case <-time.After(30 * time.Second):
			b.err = context.DeadlineExceeded
		}
	})
	return b.err
}
