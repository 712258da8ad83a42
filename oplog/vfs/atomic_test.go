package vfs

import (
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// WriteFileAtomic replaces a file whole, survives a crash once it returns
// (with syncDir), and on any failure leaves the old file and no temporary.
func TestWriteFileAtomic(t *testing.T) {
	fs := NewCrashableMem()
	if err := fs.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(fs, "/d/f", writeString("old"), true); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(fs, "/d/f", writeString("new"), true); err != nil {
		t.Fatal(err)
	}
	if got := string(readAll(t, fs.CrashClone(CrashOptions{}), "/d/f")); got != "new" {
		t.Fatalf("after a crash: %q", got)
	}

	boom := errors.New("boom")
	if err := WriteFileAtomic(fs, "/d/f", func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	}, true); !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	efs := NewErrorFS(fs, FailKinds(OpSync))
	if err := WriteFileAtomic(efs, "/d/f", writeString("unsynced"), true); err == nil {
		t.Fatal("a failed fsync was not reported")
	}
	if got := string(readAll(t, fs, "/d/f")); got != "new" {
		t.Fatalf("after failures: %q", got)
	}
	names, err := fs.List("/d")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"f"}) {
		t.Fatalf("directory holds %q", names)
	}
}

// Whatever a crash keeps of an unfinished replacement (no directory fsync
// yet; torn writes, lost renames), the file is the old one or the new one.
func TestWriteFileAtomicCrash(t *testing.T) {
	for seed := range uint64(200) {
		fs := NewCrashableMem()
		if err := fs.MkdirAll("/d"); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileAtomic(fs, "/d/f", writeString("the old contents"), true); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileAtomic(fs, "/d/f", writeString("the new contents, longer"), false); err != nil {
			t.Fatal(err)
		}
		c := fs.CrashClone(CrashOptions{Rand: rand.New(rand.NewPCG(seed, 1)), Garbage: true})
		if got := string(readAll(t, c, "/d/f")); got != "the old contents" && got != "the new contents, longer" {
			t.Fatalf("seed %d: after a crash the file holds %q", seed, got)
		}
	}
}

// TestMkdirAllDurable checks that the parents of the directories created
// are synced, top down, and nothing when the directory exists.
func TestMkdirAllDurable(t *testing.T) {
	var mu sync.Mutex
	var synced []string
	fs := NewErrorFS(NewCrashableMem(), InjectorFunc(func(op *Op) error {
		if op.Kind == OpSyncDir {
			mu.Lock()
			synced = append(synced, filepath.ToSlash(op.Path))
			mu.Unlock()
		}
		return nil
	}))
	if err := MkdirAllDurable(fs, "/a/b/c"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/", "/a", "/a/b"}; !slices.Equal(synced, want) {
		t.Fatalf("synced %v, want %v", synced, want)
	}
	if _, err := fs.List("/a/b/c"); err != nil {
		t.Fatal(err)
	}
	synced = nil
	if err := MkdirAllDurable(fs, "/a/b/c"); err != nil || len(synced) != 0 {
		t.Fatalf("existing directory: %v, synced %v", err, synced)
	}
	if err := MkdirAllDurable(fs, "/a/d"); err != nil || !slices.Equal(synced, []string{"/a"}) {
		t.Fatalf("one new directory: %v, synced %v", err, synced)
	}
	// The OS filesystem.
	dir := filepath.Join(t.TempDir(), "x", "y")
	if err := MkdirAllDurable(Default, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Default.List(dir); err != nil {
		t.Fatal(err)
	}
	// A file in the way is an error.
	f, err := Default.Create(filepath.Join(dir, "file"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := MkdirAllDurable(Default, filepath.Join(dir, "file", "sub")); err == nil {
		t.Fatal("MkdirAllDurable through a file succeeded")
	}
}
