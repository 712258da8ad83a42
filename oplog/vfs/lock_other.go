//go:build !unix

package vfs

import (
	"errors"
	"os"
)

// ErrLocked is returned by FS.Lock when another holder has the lock.
var ErrLocked = errors.New("vfs: file is locked by another process")

// lockFile is a no-op where flock is unavailable; the in-process lock table
// of the in-memory filesystems still works.
func lockFile(*os.File) error { return nil }
