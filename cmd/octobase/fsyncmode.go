package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// fsyncMode is the value of serve's --group-fsync: on, off or auto (the
// default). It is a boolean flag too: --group-fsync alone means on.
type fsyncMode string

const (
	fsyncAuto fsyncMode = ""
	fsyncOn   fsyncMode = "on"
	fsyncOff  fsyncMode = "off"
)

func (m *fsyncMode) String() string {
	if *m == fsyncAuto {
		return "auto"
	}
	return string(*m)
}

func (m *fsyncMode) Set(s string) error {
	switch strings.ToLower(s) {
	case "auto":
		*m = fsyncAuto
	case "on", "true", "1":
		*m = fsyncOn
	case "off", "false", "0":
		*m = fsyncOff
	default:
		return fmt.Errorf("want on, off or auto, not %q", s)
	}
	return nil
}

func (m *fsyncMode) IsBoolFlag() bool { return true }

// decide says whether the store in dir shares its fsyncs, and why. Auto
// shares them when dir is a mount point: one syncfs(2) then flushes only
// the store's own writes, as on a container volume. Elsewhere it would
// also flush, and wait for, whatever other programs left dirty on the
// filesystem, and report their write-back errors as the store's.
func (m fsyncMode) decide(dir string) (bool, string) {
	switch m {
	case fsyncOn:
		return true, "--group-fsync=on"
	case fsyncOff:
		return false, "--group-fsync=off"
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false, "auto: " + err.Error()
	}
	switch mount, err := isMountPoint(abs); {
	case err != nil:
		return false, "auto: " + err.Error()
	case mount:
		return true, "auto: the data directory is a mount point, a filesystem of its own"
	default:
		return false, "auto: the data directory shares its filesystem (a mount point of its own turns this on)"
	}
}
