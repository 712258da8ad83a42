package vfs

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// MemFS is an in-memory filesystem. The zero value is not usable; create one
// with [NewMem] or [NewCrashableMem].
//
// Directories are created durable by MkdirAll. Everything else follows the
// FS contract: file bytes become durable on File.Sync, directory entries
// (creations, renames, removals) on SyncDir of their directory. A plain MemFS
// does not track durability; a crashable one does, and [MemFS.CrashClone]
// returns what would survive a power loss.
type MemFS struct {
	crashable bool

	mu struct {
		sync.Mutex
		dirs  map[string]*memDir // cleaned path → directory
		locks map[string]bool    // cleaned path → held
	}
}

type memDir struct {
	entries map[string]*memNode // current entries
	synced  map[string]*memNode // entries as of the last SyncDir (crashable only)
}

// memNode is a file's contents, shared by every handle and name of it.
type memNode struct {
	mu   sync.RWMutex
	data []byte
	// end is where the written data ends: len(data), unless Allocate
	// reserved zeros beyond it. (Each handle appends at its own
	// position, as an OS file's handle does.)
	end int
	// syncedLen is the length of the durable prefix of data, when
	// syncedData is nil, and syncedEnd the end of the data at that Sync:
	// bytes in [syncedEnd, syncedLen) are durable as the zeros they were
	// then, whatever was written there since. After a Truncate below the
	// durable length, syncedData holds the durable contents instead, until
	// the next Sync.
	syncedLen  int
	syncedEnd  int
	syncedData []byte
}

var _ FS = (*MemFS)(nil)

// NewMem returns an empty in-memory filesystem with a root directory "/"
// and the current directory ".".
func NewMem() *MemFS { return newMem(false) }

// NewCrashableMem returns an empty in-memory filesystem that tracks which
// bytes and directory entries are durable, for [MemFS.CrashClone].
func NewCrashableMem() *MemFS { return newMem(true) }

func newMem(crashable bool) *MemFS {
	fs := &MemFS{crashable: crashable}
	fs.mu.dirs = map[string]*memDir{}
	fs.mu.locks = map[string]bool{}
	fs.mkdirLocked("/")
	fs.mkdirLocked(".")
	return fs
}

func (fs *MemFS) mkdirLocked(dir string) *memDir {
	if d, ok := fs.mu.dirs[dir]; ok {
		return d
	}
	d := &memDir{entries: map[string]*memNode{}}
	if fs.crashable {
		d.synced = map[string]*memNode{}
	}
	fs.mu.dirs[dir] = d
	return d
}

func splitPath(name string) (dir, base string) {
	name = filepath.Clean(name)
	return filepath.Dir(name), filepath.Base(name)
}

func (fs *MemFS) lookupLocked(op, name string) (*memDir, string, error) {
	dir, base := splitPath(name)
	d, ok := fs.mu.dirs[dir]
	if !ok {
		return nil, "", &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
	}
	return d, base, nil
}

// Create implements FS.
func (fs *MemFS) Create(name string) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupLocked("create", name)
	if err != nil {
		return nil, err
	}
	if _, isDir := fs.mu.dirs[filepath.Clean(name)]; isDir {
		return nil, &os.PathError{Op: "create", Path: name, Err: errors.New("is a directory")}
	}
	n, ok := d.entries[base]
	if ok {
		n.truncate(0)
	} else {
		n = &memNode{}
		d.entries[base] = n
	}
	return &memFile{node: n, name: name}, nil
}

// Open implements FS.
func (fs *MemFS) Open(name string) (File, error) { return fs.open("open", name, true) }

// OpenAppend implements FS.
func (fs *MemFS) OpenAppend(name string) (File, error) { return fs.open("open", name, false) }

func (fs *MemFS) open(op, name string, readOnly bool) (File, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupLocked(op, name)
	if err != nil {
		return nil, err
	}
	n, ok := d.entries[base]
	if !ok {
		return nil, &os.PathError{Op: op, Path: name, Err: os.ErrNotExist}
	}
	f := &memFile{node: n, name: name, readOnly: readOnly}
	if !readOnly {
		// As with the operating system's files, a new handle appends after
		// everything the file holds, reserved zeros included; the other
		// handles keep their positions.
		n.mu.RLock()
		f.pos = len(n.data)
		n.mu.RUnlock()
	}
	return f, nil
}

// Rename implements FS.
func (fs *MemFS) Rename(oldname, newname string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	od, obase, err := fs.lookupLocked("rename", oldname)
	if err != nil {
		return err
	}
	nd, nbase, err := fs.lookupLocked("rename", newname)
	if err != nil {
		return err
	}
	n, ok := od.entries[obase]
	if !ok {
		return &os.PathError{Op: "rename", Path: oldname, Err: os.ErrNotExist}
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// Remove implements FS.
func (fs *MemFS) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupLocked("remove", name)
	if err != nil {
		return err
	}
	if _, ok := d.entries[base]; !ok {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(d.entries, base)
	return nil
}

// List implements FS. It lists files and subdirectories.
func (fs *MemFS) List(dir string) ([]string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir = filepath.Clean(dir)
	d, ok := fs.mu.dirs[dir]
	if !ok {
		return nil, &os.PathError{Op: "list", Path: dir, Err: os.ErrNotExist}
	}
	names := make([]string, 0, len(d.entries))
	for name := range d.entries {
		names = append(names, name)
	}
	for p := range fs.mu.dirs {
		if p != dir && filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// MkdirAll implements FS.
func (fs *MemFS) MkdirAll(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	dir = filepath.Clean(dir)
	for p := dir; ; p = filepath.Dir(p) {
		pd, base := filepath.Dir(p), filepath.Base(p)
		if d, ok := fs.mu.dirs[pd]; ok && p != pd {
			if _, isFile := d.entries[base]; isFile {
				return &os.PathError{Op: "mkdir", Path: p, Err: errors.New("not a directory")}
			}
		}
		fs.mkdirLocked(p)
		if p == pd {
			return nil
		}
	}
}

// SyncDir implements FS.
func (fs *MemFS) SyncDir(dir string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, ok := fs.mu.dirs[filepath.Clean(dir)]
	if !ok {
		return &os.PathError{Op: "syncdir", Path: dir, Err: os.ErrNotExist}
	}
	if fs.crashable {
		d.synced = make(map[string]*memNode, len(d.entries))
		for k, v := range d.entries {
			d.synced[k] = v
		}
	}
	return nil
}

// Lock implements FS. Locks are process-local: they live in this MemFS.
func (fs *MemFS) Lock(name string) (io.Closer, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.lookupLocked("lock", name)
	if err != nil {
		return nil, err
	}
	key := filepath.Clean(name)
	if fs.mu.locks[key] {
		return nil, fmt.Errorf("vfs: lock %s: %w", name, ErrLocked)
	}
	if _, ok := d.entries[base]; !ok {
		d.entries[base] = &memNode{}
	}
	fs.mu.locks[key] = true
	return &memLock{fs: fs, key: key}, nil
}

type memLock struct {
	fs   *MemFS
	key  string
	once sync.Once
}

func (l *memLock) Close() error {
	l.once.Do(func() {
		l.fs.mu.Lock()
		delete(l.fs.mu.locks, l.key)
		l.fs.mu.Unlock()
	})
	return nil
}

// FlipBit flips one bit of the named file's contents, durable and current
// alike: it models corruption at rest.
func (fs *MemFS) FlipBit(name string, off int64, bit uint) error {
	fs.mu.Lock()
	d, base, err := fs.lookupLocked("flipbit", name)
	var n *memNode
	if err == nil {
		n = d.entries[base]
	}
	fs.mu.Unlock()
	if err != nil {
		return err
	}
	if n == nil {
		return &os.PathError{Op: "flipbit", Path: name, Err: os.ErrNotExist}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if off < 0 || off >= int64(len(n.data)) {
		return fmt.Errorf("vfs: flipbit %s: offset %d out of range [0,%d)", name, off, len(n.data))
	}
	// When syncedData is nil the durable prefix shares data's backing array,
	// so one flip corrupts both, which is what corruption at rest means.
	n.data[off] ^= 1 << (bit % 8)
	if n.syncedData != nil && off < int64(len(n.syncedData)) {
		n.syncedData[off] ^= 1 << (bit % 8)
	}
	return nil
}

// CrashOptions shapes what survives [MemFS.CrashClone].
type CrashOptions struct {
	// Rand, if non-nil, makes the crash keep a random-length prefix of each
	// file's unsynced appended bytes (a torn write), and lets each
	// unsynced directory change (a creation, rename or removal) survive
	// with probability 1/2. With Rand nil only durable state survives.
	Rand *rand.Rand
	// Garbage, with Rand, sometimes follows a file's kept prefix with
	// random bytes or zeros, as a filesystem that extended a file before
	// its data reached the disk would leave.
	Garbage bool
}

// CrashClone returns a new crashable MemFS holding what would be on disk had
// the machine lost power now: durable file bytes and durable directory
// entries, plus (see CrashOptions) a random torn share of the rest. Locks are
// not carried over. CrashClone is safe to call while other goroutines use fs;
// the clone reflects a single instant. It panics on a non-crashable MemFS.
func (fs *MemFS) CrashClone(opts CrashOptions) *MemFS {
	if !fs.crashable {
		panic("vfs: CrashClone on a MemFS created by NewMem; use NewCrashableMem")
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	// Hold every file's lock so the clone is one instant across files.
	nodes := map[*memNode]*memNode{}
	for _, d := range fs.mu.dirs {
		for _, m := range []map[string]*memNode{d.entries, d.synced} {
			for _, n := range m {
				if _, ok := nodes[n]; !ok {
					nodes[n] = nil
					n.mu.RLock()
				}
			}
		}
	}
	defer func() {
		for n := range nodes {
			n.mu.RUnlock()
		}
	}()

	c := newMem(true)
	clone := func(n *memNode) *memNode {
		if cn := nodes[n]; cn != nil {
			return cn
		}
		cn := &memNode{data: n.crashContentsRLocked(opts)}
		cn.end, cn.syncedLen, cn.syncedEnd = len(cn.data), len(cn.data), len(cn.data)
		nodes[n] = cn
		return cn
	}
	paths := make([]string, 0, len(fs.mu.dirs))
	for p := range fs.mu.dirs {
		paths = append(paths, p)
	}
	sort.Strings(paths) // deterministic use of opts.Rand
	for _, p := range paths {
		d := fs.mu.dirs[p]
		cd := c.mkdirLocked(p)
		names := make([]string, 0, len(d.entries)+len(d.synced))
		for name := range d.synced {
			names = append(names, name)
		}
		for name := range d.entries {
			if _, ok := d.synced[name]; !ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			n := d.synced[name]
			if cur := d.entries[name]; cur != n && opts.Rand != nil && opts.Rand.IntN(2) == 0 {
				n = cur
			}
			if n != nil {
				cn := clone(n)
				cd.entries[name] = cn
				cd.synced[name] = cn
			}
		}
	}
	return c
}

// crashContentsRLocked returns the bytes of n that survive a crash.
func (n *memNode) crashContentsRLocked(opts CrashOptions) []byte {
	if n.syncedData != nil {
		return append([]byte(nil), n.syncedData...)
	}
	out := n.durableRLocked()
	// A torn write keeps a prefix of what was written since the Sync.
	keep := n.syncedEnd
	r := opts.Rand
	if r != nil && n.end > n.syncedEnd {
		keep += r.IntN(n.end - n.syncedEnd + 1)
	}
	if keep > len(out) {
		out = append(out, make([]byte, keep-len(out))...)
	}
	copy(out[n.syncedEnd:keep], n.data[n.syncedEnd:keep])
	if r != nil && opts.Garbage && keep < len(n.data) && r.IntN(2) == 0 {
		g := make([]byte, 1+r.IntN(len(n.data)-keep))
		if r.IntN(2) == 0 {
			for i := range g {
				g[i] = byte(r.Uint32())
			}
		}
		if keep+len(g) > len(out) {
			out = append(out, make([]byte, keep+len(g)-len(out))...)
		}
		copy(out[keep:], g)
	}
	return out
}

// durableRLocked returns a copy of the durable prefix of data as of the
// last Sync (syncedData nil): bytes written since into space that was
// reserved then read as the zeros they were.
func (n *memNode) durableRLocked() []byte {
	out := append([]byte(nil), n.data[:n.syncedLen]...)
	clear(out[min(n.syncedEnd, len(out)):min(n.end, len(out))])
	return out
}

func (n *memNode) truncate(size int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.truncateLocked(size)
}

func (n *memNode) truncateLocked(size int64) {
	if int(size) < n.syncedLen && n.syncedData == nil {
		n.syncedData = n.durableRLocked()
	}
	n.end = int(size)
	if int(size) <= len(n.data) {
		// Copy so later appends cannot scribble on bytes a reader or the
		// durable prefix still holds.
		n.data = append([]byte(nil), n.data[:size]...)
		return
	}
	n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
}

// memFile is a handle on a memNode.
type memFile struct {
	node     *memNode
	name     string
	readOnly bool
	pos      int        // where Write appends; guarded by node.mu
	mu       sync.Mutex // guards closed
	closed   bool
}

func (f *memFile) check(op string, write bool) error {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return &os.PathError{Op: op, Path: f.name, Err: os.ErrClosed}
	}
	if write && f.readOnly {
		return &os.PathError{Op: op, Path: f.name, Err: errors.New("file opened read-only")}
	}
	return nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return &os.PathError{Op: "close", Path: f.name, Err: os.ErrClosed}
	}
	f.closed = true
	return nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &os.PathError{Op: "read", Path: f.name, Err: errors.New("negative offset")}
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if f.pos > len(n.data) {
		n.data = append(n.data, make([]byte, f.pos-len(n.data))...) // a hole
	}
	m := copy(n.data[f.pos:], p) // into reserved space, if any
	n.data = append(n.data, p[m:]...)
	f.pos += len(p)
	n.end = max(n.end, f.pos)
	return len(p), nil
}

func (f *memFile) Allocate(size int64) error {
	if err := f.check("allocate", true); err != nil {
		return err
	}
	n := f.node
	n.mu.Lock()
	defer n.mu.Unlock()
	if int(size) > len(n.data) {
		n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
	}
	return nil
}

func (f *memFile) Sync() error {
	if err := f.check("sync", false); err != nil {
		return err
	}
	f.node.mu.Lock()
	defer f.node.mu.Unlock()
	f.node.syncedLen, f.node.syncedEnd = len(f.node.data), f.node.end
	f.node.syncedData = nil
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return &os.PathError{Op: "truncate", Path: f.name, Err: errors.New("negative size")}
	}
	f.node.mu.Lock()
	f.node.truncateLocked(size)
	f.pos = int(size)
	f.node.mu.Unlock()
	return nil
}

func (f *memFile) Size() (int64, error) {
	if err := f.check("stat", false); err != nil {
		return 0, err
	}
	f.node.mu.RLock()
	defer f.node.mu.RUnlock()
	return int64(len(f.node.data)), nil
}
