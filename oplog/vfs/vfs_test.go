package vfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// implementations runs f against every FS implementation (one suite, like
// nats' testAllStoreAllPermutations).
func implementations(t *testing.T, f func(t *testing.T, fs FS, dir string)) {
	t.Run("os", func(t *testing.T) { f(t, Default, t.TempDir()) })
	t.Run("mem", func(t *testing.T) { f(t, mkdir(t, NewMem()), "/d") })
	t.Run("crashable", func(t *testing.T) { f(t, mkdir(t, NewCrashableMem()), "/d") })
	t.Run("errorfs", func(t *testing.T) { f(t, NewErrorFS(mkdir(t, NewMem()), nil), "/d") })
}

func mkdir(t *testing.T, fs FS) FS {
	if err := fs.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	return fs
}

func readAll(t *testing.T, fs FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); n != len(b) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	return b
}

func write(t *testing.T, f File, s string) {
	t.Helper()
	if n, err := f.Write([]byte(s)); err != nil || n != len(s) {
		t.Fatalf("Write: %d, %v", n, err)
	}
}

func TestConformance(t *testing.T) {
	implementations(t, func(t *testing.T, fs FS, dir string) {
		a := filepath.Join(dir, "a")
		f, err := fs.Create(a)
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, "hello ")
		write(t, f, "world")
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if size, _ := f.Size(); size != 11 {
			t.Fatalf("size %d", size)
		}
		buf := make([]byte, 5)
		if n, err := f.ReadAt(buf, 6); n != 5 || string(buf) != "world" {
			t.Fatalf("ReadAt: %d %v %q", n, err, buf)
		}
		if n, err := f.ReadAt(buf, 8); n != 3 || err != io.EOF {
			t.Fatalf("short ReadAt: %d %v", n, err)
		}
		// Truncate, then writes append at the new end.
		if err := f.Truncate(5); err != nil {
			t.Fatal(err)
		}
		write(t, f, "!")
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, fs, a); string(got) != "hello!" {
			t.Fatalf("after truncate: %q", got)
		}
		// OpenAppend appends; Open is read-only.
		f, err = fs.OpenAppend(a)
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, "?")
		f.Close()
		if got := readAll(t, fs, a); string(got) != "hello!?" {
			t.Fatalf("after append: %q", got)
		}
		r, _ := fs.Open(a)
		if _, err := r.Write([]byte("x")); err == nil {
			t.Fatal("write to a read-only file succeeded")
		}
		r.Close()
		// Create truncates an existing file.
		f, _ = fs.Create(a)
		write(t, f, "new")
		f.Close()
		if got := readAll(t, fs, a); string(got) != "new" {
			t.Fatalf("after re-create: %q", got)
		}
		// Rename replaces, Remove removes, List lists sorted.
		b := filepath.Join(dir, "b")
		f, _ = fs.Create(b)
		f.Close()
		if err := fs.Rename(a, b); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, fs, b); string(got) != "new" {
			t.Fatalf("after rename: %q", got)
		}
		if _, err := fs.Open(a); !IsNotExist(err) {
			t.Fatalf("old name still opens: %v", err)
		}
		if err := fs.MkdirAll(filepath.Join(dir, "sub", "deeper")); err != nil {
			t.Fatal(err)
		}
		f, _ = fs.Create(filepath.Join(dir, "0"))
		f.Close()
		names, err := fs.List(dir)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"0", "b", "sub"}; !equal(names, want) {
			t.Fatalf("List = %v, want %v", names, want)
		}
		if err := fs.SyncDir(dir); err != nil {
			t.Fatal(err)
		}
		if err := fs.Remove(b); err != nil {
			t.Fatal(err)
		}
		if err := fs.Remove(b); !IsNotExist(err) {
			t.Fatalf("second Remove: %v", err)
		}
		if _, err := fs.Create(filepath.Join(dir, "nodir", "x")); err == nil {
			t.Fatal("Create in a missing directory succeeded")
		}
		// Lock excludes a second holder until released.
		lock := filepath.Join(dir, "LOCK")
		l1, err := fs.Lock(lock)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fs.Lock(lock); !errors.Is(err, ErrLocked) {
			t.Fatalf("second Lock: %v", err)
		}
		l1.Close()
		l2, err := fs.Lock(lock)
		if err != nil {
			t.Fatalf("Lock after release: %v", err)
		}
		l2.Close()
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCrashCloneKeepsOnlyDurableState(t *testing.T) {
	fs := NewCrashableMem()
	fs.MkdirAll("/d")
	f, _ := fs.Create("/d/a")
	write(t, f, "synced")
	f.Sync()
	write(t, f, "+unsynced")

	// The directory entry of a is not durable yet: a crash loses the file.
	if _, err := fs.CrashClone(CrashOptions{}).Open("/d/a"); !IsNotExist(err) {
		t.Fatalf("file with an unsynced directory entry survived: %v", err)
	}
	fs.SyncDir("/d")
	c := fs.CrashClone(CrashOptions{})
	if got := readAll(t, c, "/d/a"); string(got) != "synced" {
		t.Fatalf("crash kept %q", got)
	}
	// A clone is independent and crashable itself.
	g, _ := c.OpenAppend("/d/a")
	write(t, g, "!")
	if got := readAll(t, fs, "/d/a"); string(got) != "synced+unsynced" {
		t.Fatalf("clone write leaked into the original: %q", got)
	}

	// Truncation below the durable length is itself not durable.
	f.Truncate(2)
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != "synced" {
		t.Fatalf("unsynced truncate survived: %q", got)
	}
	write(t, f, "XY")
	f.Sync()
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != "syXY" {
		t.Fatalf("synced truncate+write: %q", got)
	}

	// Unsynced rename and remove are undone.
	fs.Rename("/d/a", "/d/b")
	c = fs.CrashClone(CrashOptions{})
	if _, err := c.Open("/d/b"); !IsNotExist(err) {
		t.Fatal("unsynced rename survived")
	}
	if got := readAll(t, c, "/d/a"); string(got) != "syXY" {
		t.Fatalf("rename source lost: %q", got)
	}
	fs.SyncDir("/d")
	fs.Remove("/d/b")
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/b"); string(got) != "syXY" {
		t.Fatalf("unsynced remove survived: %q", got)
	}
}

func TestCrashCloneTornPrefix(t *testing.T) {
	fs := NewCrashableMem()
	fs.MkdirAll("/d")
	f, _ := fs.Create("/d/a")
	write(t, f, "durable")
	f.Sync()
	fs.SyncDir("/d")
	write(t, f, "0123456789")
	seen := map[int]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		got := readAll(t, fs.CrashClone(CrashOptions{Rand: r}), "/d/a")
		if !bytes.HasPrefix(got, []byte("durable")) || !bytes.HasPrefix([]byte("durable0123456789"), got) {
			t.Fatalf("torn clone is not a prefix: %q", got)
		}
		seen[len(got)] = true
	}
	if len(seen) < 8 {
		t.Fatalf("torn lengths not varied: %v", seen)
	}
	garbage := false
	for range 200 {
		got := readAll(t, fs.CrashClone(CrashOptions{Rand: r, Garbage: true}), "/d/a")
		if !bytes.HasPrefix(got, []byte("durable")) {
			t.Fatalf("durable bytes lost: %q", got)
		}
		if !bytes.HasPrefix([]byte("durable0123456789"), got) {
			garbage = true
		}
	}
	if !garbage {
		t.Fatal("Garbage never produced garbage")
	}
}

func TestCrashClonePanicsOnPlainMem(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewMem().CrashClone(CrashOptions{})
}

func TestFlipBit(t *testing.T) {
	fs := NewCrashableMem()
	fs.MkdirAll("/d")
	f, _ := fs.Create("/d/a")
	write(t, f, "AAAA")
	f.Sync()
	fs.SyncDir("/d")
	if err := fs.FlipBit("/d/a", 2, 0); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, fs, "/d/a"); string(got) != "AA@A" {
		t.Fatalf("flip: %q", got)
	}
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != "AA@A" {
		t.Fatalf("flip is not at rest: %q", got)
	}
	if err := fs.FlipBit("/d/a", 9, 0); err == nil {
		t.Fatal("out of range flip succeeded")
	}
}

func TestErrorFS(t *testing.T) {
	base := NewMem()
	base.MkdirAll("/d")
	e := NewErrorFS(base, FailKinds(OpSync))
	f, err := e.Create("/d/a")
	if err != nil {
		t.Fatal(err)
	}
	write(t, f, "x")
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("Sync: %v", err)
	}
	if err := e.SyncDir("/d"); err != nil {
		t.Fatalf("SyncDir is not a sync of a file: %v", err)
	}

	e.SetInjector(FailAfter(2, OpWrite))
	write(t, f, "1")
	write(t, f, "2")
	for range 3 {
		if _, err := f.Write([]byte("3")); !errors.Is(err, ErrInjected) {
			t.Fatalf("write after the limit: %v", err)
		}
	}
	e.SetInjector(FailNth(2))
	if _, err := e.List("/d"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.List("/d"); !errors.Is(err, ErrInjected) {
		t.Fatalf("2nd op: %v", err)
	}
	if _, err := e.List("/d"); err != nil {
		t.Fatalf("3rd op: %v", err)
	}

	e.SetInjector(FlipBitNth(1, OpWrite, rand.New(rand.NewPCG(3, 4))))
	write(t, f, "zzzz")
	e.SetInjector(nil)
	got := readAll(t, e, "/d/a")
	if string(got[:3]) != "x12" || string(got[3:]) == "zzzz" || len(got) != 7 {
		t.Fatalf("flipped write stored %q", got)
	}
	e.SetInjector(FlipBitNth(1, OpRead, rand.New(rand.NewPCG(5, 6))))
	if again := readAll(t, e, "/d/a"); bytes.Equal(again, got) {
		t.Fatal("read flip had no effect")
	}
	if again := readAll(t, e, "/d/a"); !bytes.Equal(again, got) {
		t.Fatal("read flip is not transient")
	}
	if OpSync.String() != "sync" || OpKind(99).String() != "op(99)" {
		t.Fatal("OpKind.String")
	}
}

func TestOSLockAcrossDescriptors(t *testing.T) {
	name := filepath.Join(t.TempDir(), "LOCK")
	l, err := Default.Lock(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := Default.Lock(name); !errors.Is(err, ErrLocked) {
		t.Fatalf("second flock on another descriptor: %v", err)
	}
	if _, err := os.Stat(name); err != nil {
		t.Fatal(err)
	}
}

// TestAllocate: Allocate extends a file with zeros, Write keeps appending
// where the data ends, inside the reserved space, and Truncate ends the
// reservation; a reopened file appends after everything it holds.
func TestAllocate(t *testing.T) {
	implementations(t, func(t *testing.T, fs FS, dir string) {
		a := filepath.Join(dir, "a")
		f, err := fs.Create(a)
		if err != nil {
			t.Fatal(err)
		}
		write(t, f, "head")
		if err := f.Allocate(16); errors.Is(err, ErrUnsupported) {
			t.Skip("no fallocate here")
		} else if err != nil {
			t.Fatal(err)
		}
		if err := f.Allocate(8); err != nil { // shorter: nothing to do
			t.Fatal(err)
		}
		if size, _ := f.Size(); size != 16 {
			t.Fatalf("size after Allocate(16) = %d", size)
		}
		write(t, f, "+data")
		if got := readAll(t, fs, a); string(got) != "head+data\x00\x00\x00\x00\x00\x00\x00" {
			t.Fatalf("after a write into reserved space: %q", got)
		}
		write(t, f, "-past-the-reserve")
		if got := readAll(t, fs, a); string(got) != "head+data-past-the-reserve" {
			t.Fatalf("after a write past the reserved space: %q", got)
		}
		if err := f.Allocate(40); err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(26); err != nil {
			t.Fatal(err)
		}
		write(t, f, "!")
		if got := readAll(t, fs, a); string(got) != "head+data-past-the-reserve!" {
			t.Fatalf("after Truncate ended the reservation: %q", got)
		}
		if err := f.Allocate(30); err != nil {
			t.Fatal(err)
		}
		f.Sync()
		f.Close()
		g, err := fs.OpenAppend(a)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		write(t, g, "X")
		if got := readAll(t, fs, a); string(got) != "head+data-past-the-reserve!\x00\x00\x00X" {
			t.Fatalf("a reopened file appends after its zeros: %q", got)
		}
	})
}

// TestCrashCloneAllocated: bytes written into reserved space are durable
// only after Sync; before it a crash finds the zeros the reservation
// made durable, or (torn) a prefix of the writes.
func TestCrashCloneAllocated(t *testing.T) {
	fs := NewCrashableMem()
	fs.MkdirAll("/d")
	f, _ := fs.Create("/d/a")
	write(t, f, "durable")
	f.Allocate(16)
	f.Sync()
	fs.SyncDir("/d")
	write(t, f, "0123456789")
	zeros := "durable\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != zeros {
		t.Fatalf("unsynced writes into reserved space survived: %q", got)
	}
	want := []byte("durable0123456789")
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[int]bool{}
	for range 200 {
		got := readAll(t, fs.CrashClone(CrashOptions{Rand: r}), "/d/a")
		// Some prefix of the writes, then the reserved zeros.
		k := len("durable")
		for k < len(got) && k < len(want) && got[k] == want[k] {
			k++
		}
		seen[k] = true
		if rest := bytes.TrimLeft(got[k:], "\x00"); len(rest) != 0 || len(got) < 16 {
			t.Fatalf("torn clone %q is not a prefix of the writes followed by zeros", got)
		}
	}
	if len(seen) < 6 {
		t.Fatalf("torn lengths not varied: %v", seen)
	}
	f.Sync()
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != "durable0123456789" {
		t.Fatalf("after Sync: %q", got)
	}
	// A Truncate below the durable length, then a crash before Sync,
	// finds the durable contents, not the unsynced writes.
	write(t, f, "abc")
	f.Truncate(3)
	if got := readAll(t, fs.CrashClone(CrashOptions{}), "/d/a"); string(got) != "durable0123456789" {
		t.Fatalf("unsynced truncate: %q", got)
	}
}
