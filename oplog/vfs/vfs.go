// Package vfs is the small filesystem interface the op-log is written
// against, with four implementations:
//
//   - [Default], the operating system's filesystem;
//   - [NewMem], an in-memory filesystem for tests and tools;
//   - [NewCrashableMem], an in-memory filesystem that remembers which bytes
//     and directory entries were made durable, so [MemFS.CrashClone] can
//     produce the state a machine would find after losing power;
//   - [NewErrorFS], a wrapper that injects errors and bit flips, chosen by
//     operation kind, path or count.
//
// The interface is deliberately narrow: it has exactly what an append-only
// log needs. Files are append-only: [File.Write] always appends at the end of
// the file's data (which is the end of the file unless [File.Allocate]
// reserved zeros beyond it), and reads go through [File.ReadAt]. [WriteFileAtomic] is the one
// way a whole file is replaced (snapshots, index files, the client id): a
// temporary file, fsync, rename, directory fsync.
//
// All implementations are safe for concurrent use. A File may be read with
// ReadAt concurrently with a Write to the same file; the reader sees either
// the old or the new length, never torn bytes inside a completed Write
// (the in-memory implementations guarantee this; the OS gives the usual
// POSIX guarantees).
package vfs

import (
	"errors"
	"io"
	"os"
)

// File is an open file. Files opened with [FS.Open] are read-only.
type File interface {
	io.Closer
	io.ReaderAt
	// Write appends p to the end of the file.
	Write(p []byte) (n int, err error)
	// Sync makes the file's contents durable (fsync).
	Sync() error
	// Truncate changes the size of the file. Later writes append at the new
	// end. The change is durable only after Sync.
	Truncate(size int64) error
	// Size returns the current size of the file in bytes, space reserved by
	// Allocate included.
	Size() (int64, error)
	// Allocate reserves space: it extends the file with zero bytes to size
	// (nothing if it is that long already), where the filesystem can do so
	// without writing them (fallocate(2)), and returns ErrUnsupported
	// where it cannot. Write keeps appending where the written data ends,
	// inside the reserved space: appends that do not change the file's
	// size make an fsync cheaper, as it has no new size to record. Readers
	// see the zeros; the reservation is durable after Sync, and Truncate
	// ends it.
	Allocate(size int64) error
}

// ErrUnsupported is what Allocate returns where space cannot be reserved.
var ErrUnsupported = errors.ErrUnsupported

// FS is a filesystem. Names are slash- or OS-separated paths; the in-memory
// implementations clean them with filepath.Clean.
//
// Directory operations (Create of a new name, Rename, Remove) are durable
// only after SyncDir of the parent directory; the crashable in-memory
// implementation enforces this.
type FS interface {
	// Create creates the named file, or truncates it if it exists, and opens
	// it for reading and appending.
	Create(name string) (File, error)
	// Open opens an existing file read-only. A missing file gives an error
	// for which errors.Is(err, os.ErrNotExist) holds.
	Open(name string) (File, error)
	// OpenAppend opens an existing file for reading and appending.
	OpenAppend(name string) (File, error)
	// Rename renames oldname to newname, replacing newname if it exists.
	Rename(oldname, newname string) error
	// Remove removes the named file. A missing file gives an error for
	// which errors.Is(err, os.ErrNotExist) holds.
	Remove(name string) error
	// List returns the names (not paths) of the entries in dir, sorted.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and any missing parents.
	MkdirAll(dir string) error
	// SyncDir makes the directory's entries durable (fsync of the directory).
	SyncDir(dir string) error
	// Lock takes an exclusive advisory lock on the named file, creating it if
	// needed. It fails at once (it does not wait) if the lock is held. Close
	// the returned Closer to release the lock.
	Lock(name string) (io.Closer, error)
}

// IsNotExist reports whether err says a file or directory does not exist.
func IsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
