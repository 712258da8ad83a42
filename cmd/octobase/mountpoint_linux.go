package main

import (
	"path/filepath"
	"syscall"
)

// isMountPoint reports whether dir (absolute) is the root of a mounted
// filesystem: its device differs from its parent's, or it is its own
// parent. A directory that does not exist yet is not one.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		if err == syscall.ENOENT {
			return false, nil
		}
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev || st.Ino == parent.Ino, nil
}
