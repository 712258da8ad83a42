package vfs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
)

// ErrInjected is the error the canned injectors return.
var ErrInjected = errors.New("vfs: injected error")

// OpKind names an operation an [Injector] may fail.
type OpKind uint8

// Operation kinds. OpOpen covers Open and OpenAppend.
const (
	OpCreate OpKind = iota + 1
	OpOpen
	OpRename
	OpRemove
	OpList
	OpMkdir
	OpSyncDir
	OpLock
	OpRead
	OpWrite
	OpSync
	OpTruncate
	OpSize
	OpClose
	OpAllocate
)

var opNames = [...]string{"?", "create", "open", "rename", "remove", "list", "mkdir",
	"syncdir", "lock", "read", "write", "sync", "truncate", "size", "close", "allocate"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("op(%d)", k)
}

// Op describes one operation passed to an Injector.
type Op struct {
	Kind OpKind
	Path string
	// Data is, for OpWrite, a copy of the bytes about to be written and, for
	// OpRead, the bytes just read. An injector may flip bits in it: the
	// write then stores, or the read returns, the altered bytes.
	Data []byte
}

// Injector decides the fate of each operation: a non-nil error fails it, and
// the operation does not reach the wrapped FS (reads fail after reading).
// Injectors must be safe for concurrent use.
type Injector interface {
	Inject(op *Op) error
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op *Op) error

// Inject implements Injector.
func (f InjectorFunc) Inject(op *Op) error { return f(op) }

func matches(k OpKind, kinds []OpKind) bool {
	return len(kinds) == 0 || slices.Contains(kinds, k)
}

// FailKinds fails every operation of the given kinds with ErrInjected.
func FailKinds(kinds ...OpKind) Injector {
	return InjectorFunc(func(op *Op) error {
		if matches(op.Kind, kinds) {
			return fmt.Errorf("%w (%s %s)", ErrInjected, op.Kind, op.Path)
		}
		return nil
	})
}

// FailAfter lets the first n operations of the given kinds (all kinds if none
// are given) succeed and fails every later one with ErrInjected, like a disk
// that died.
func FailAfter(n int64, kinds ...OpKind) Injector {
	var count atomic.Int64
	return InjectorFunc(func(op *Op) error {
		if matches(op.Kind, kinds) && count.Add(1) > n {
			return fmt.Errorf("%w (%s %s)", ErrInjected, op.Kind, op.Path)
		}
		return nil
	})
}

// FailNth fails only the nth (1-based) operation of the given kinds (all kinds
// if none are given) with ErrInjected.
func FailNth(n int64, kinds ...OpKind) Injector {
	var count atomic.Int64
	return InjectorFunc(func(op *Op) error {
		if matches(op.Kind, kinds) && count.Add(1) == n {
			return fmt.Errorf("%w (%s %s)", ErrInjected, op.Kind, op.Path)
		}
		return nil
	})
}

// FlipBitNth flips one random bit in the data of the nth (1-based) operation
// of kind (OpWrite or OpRead) that carries data. A flipped write is silent
// corruption at rest; a flipped read is a transient one.
func FlipBitNth(n int64, kind OpKind, r *rand.Rand) Injector {
	var count atomic.Int64
	var mu sync.Mutex // r is not safe for concurrent use
	return InjectorFunc(func(op *Op) error {
		if op.Kind != kind || len(op.Data) == 0 || count.Add(1) != n {
			return nil
		}
		mu.Lock()
		i, bit := r.IntN(len(op.Data)), r.IntN(8)
		mu.Unlock()
		op.Data[i] ^= 1 << bit
		return nil
	})
}

// ErrorFS wraps an FS and passes every operation through an Injector.
type ErrorFS struct {
	fs  FS
	inj atomic.Pointer[Injector]
}

var _ FS = (*ErrorFS)(nil)

// NewErrorFS returns fs wrapped with inj (nil injects nothing).
func NewErrorFS(fs FS, inj Injector) *ErrorFS {
	e := &ErrorFS{fs: fs}
	e.SetInjector(inj)
	return e
}

// SetInjector replaces the injector; nil injects nothing. Safe to call while
// the FS is in use.
func (e *ErrorFS) SetInjector(inj Injector) { e.inj.Store(&inj) }

func (e *ErrorFS) inject(op *Op) error {
	if p := e.inj.Load(); p != nil && *p != nil {
		return (*p).Inject(op)
	}
	return nil
}

func (e *ErrorFS) maybe(kind OpKind, path string) error {
	return e.inject(&Op{Kind: kind, Path: path})
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.maybe(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{e: e, f: f, name: name}, nil
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.maybe(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.fs.Open(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{e: e, f: f, name: name}, nil
}

// OpenAppend implements FS.
func (e *ErrorFS) OpenAppend(name string) (File, error) {
	if err := e.maybe(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.fs.OpenAppend(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{e: e, f: f, name: name}, nil
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.maybe(OpRename, oldname); err != nil {
		return err
	}
	return e.fs.Rename(oldname, newname)
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.maybe(OpRemove, name); err != nil {
		return err
	}
	return e.fs.Remove(name)
}

// List implements FS.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.maybe(OpList, dir); err != nil {
		return nil, err
	}
	return e.fs.List(dir)
}

// MkdirAll implements FS.
func (e *ErrorFS) MkdirAll(dir string) error {
	if err := e.maybe(OpMkdir, dir); err != nil {
		return err
	}
	return e.fs.MkdirAll(dir)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.maybe(OpSyncDir, dir); err != nil {
		return err
	}
	return e.fs.SyncDir(dir)
}

// Lock implements FS.
func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.maybe(OpLock, name); err != nil {
		return nil, err
	}
	return e.fs.Lock(name)
}

type errorFile struct {
	e    *ErrorFS
	f    File
	name string
}

func (f *errorFile) Close() error {
	if err := f.e.maybe(OpClose, f.name); err != nil {
		f.f.Close() // release the handle anyway, as a failed close(2) does
		return err
	}
	return f.f.Close()
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.f.ReadAt(p, off)
	if ierr := f.e.inject(&Op{Kind: OpRead, Path: f.name, Data: p[:n]}); ierr != nil {
		return 0, ierr
	}
	return n, err
}

func (f *errorFile) Write(p []byte) (int, error) {
	op := &Op{Kind: OpWrite, Path: f.name, Data: append([]byte(nil), p...)}
	if err := f.e.inject(op); err != nil {
		return 0, err
	}
	return f.f.Write(op.Data)
}

func (f *errorFile) Sync() error {
	if err := f.e.maybe(OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.e.maybe(OpTruncate, f.name); err != nil {
		return err
	}
	return f.f.Truncate(size)
}

func (f *errorFile) Size() (int64, error) {
	if err := f.e.maybe(OpSize, f.name); err != nil {
		return 0, err
	}
	return f.f.Size()
}

func (f *errorFile) Allocate(size int64) error {
	if err := f.e.maybe(OpAllocate, f.name); err != nil {
		return err
	}
	return f.f.Allocate(size)
}
