//go:build !linux

package vfs

import "os"

// allocate reserves space only on Linux (fallocate(2)).
func allocate(*os.File, int64, int64) error { return ErrUnsupported }
