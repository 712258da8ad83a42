package main

import (
	"flag"
	"io"
	"path/filepath"
	"runtime"
	"testing"
)

// TestGroupFsyncFlag: --group-fsync takes on, off or auto (the default),
// and alone means on.
func TestGroupFsyncFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want fsyncMode
		err  bool
	}{
		{nil, fsyncAuto, false},
		{[]string{"--group-fsync"}, fsyncOn, false},
		{[]string{"--group-fsync=on"}, fsyncOn, false},
		{[]string{"--group-fsync=false"}, fsyncOff, false},
		{[]string{"--group-fsync=off"}, fsyncOff, false},
		{[]string{"--group-fsync=auto"}, fsyncAuto, false},
		{[]string{"--group-fsync=sometimes"}, fsyncAuto, true},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var m fsyncMode
		fs.Var(&m, "group-fsync", "")
		err := fs.Parse(c.args)
		if (err != nil) != c.err || m != c.want {
			t.Errorf("%v: mode %q, err %v; want %q, error %v", c.args, m.String(), err, c.want, c.err)
		}
	}
}

// TestGroupFsyncAuto: auto shares fsyncs only for a data directory that
// is a mount point.
func TestGroupFsyncAuto(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		mode fsyncMode
		dir  string
		want bool
	}{
		{fsyncOn, dir, true},
		{fsyncOff, "/", false},
		{fsyncAuto, dir, false}, // a directory of a larger filesystem
		{fsyncAuto, filepath.Join(dir, "not-yet-created"), false}, // engine.Open creates it
	} {
		if got, why := c.mode.decide(c.dir); got != c.want || why == "" {
			t.Errorf("%s on %s: %v (%s), want %v", c.mode.String(), c.dir, got, why, c.want)
		}
	}
	if runtime.GOOS == "linux" {
		// procfs is mounted at /proc on every Linux machine.
		if got, why := fsyncAuto.decide("/proc"); !got {
			t.Errorf("auto on /proc, a mount point: off (%s)", why)
		}
	}
}
