package vfs

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestSyncAll: files of the OS filesystem and of a memory one, synced
// together, all end durable (the memory one says so) without error; a
// lone file, and no file, are fine too.
func TestSyncAll(t *testing.T) {
	dir := t.TempDir()
	var files []File
	for _, name := range []string{"a", "b", "c"} {
		f, err := Default.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write([]byte("data of " + name)); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	mem := NewCrashableMem()
	mf, err := mem.Create("/m")
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	if _, err := mf.Write([]byte("memory")); err != nil {
		t.Fatal(err)
	}
	files = append(files, mf)
	if err := SyncAll(files); err != nil {
		t.Fatal(err)
	}
	crashed := mem.CrashClone(CrashOptions{})
	g, err := crashed.Open("/m")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := g.Size(); n != int64(len("memory")) {
		t.Fatalf("memory file after a crash: %d bytes, want the synced 6", n)
	}
	if err := SyncAll(files[:1]); err != nil {
		t.Fatal(err)
	}
	if err := SyncAll(nil); err != nil {
		t.Fatal(err)
	}
	_, ok := syncfsDevice(files[0])
	t.Logf("%s: syncfs used: %v", runtime.GOOS, ok)
}
