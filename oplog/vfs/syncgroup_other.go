//go:build !linux

package vfs

// syncfsDevice: syncfs(2) is used on Linux only.
func syncfsDevice(File) (uint64, bool) { return 0, false }

func syncfs(f File) error { return f.Sync() }
