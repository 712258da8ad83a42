//go:build linux

package vfs

import "testing"

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v782", true}, {"5.8.0", true}, {"5.8-rc1", true}, {"5.7.19", false},
		{"4.19.0-13-amd64", false}, {"10.0", true}, {"5", false}, {"x.y", false}, {"", false},
	} {
		if got := kernelAtLeast(c.release, 5, 8); got != c.want {
			t.Errorf("%q: %v, want %v", c.release, got, c.want)
		}
	}
}

// TestSyncfsOnThisKernel: where the kernel has syncfs with error reports,
// an OS file is grouped by its device.
func TestSyncfsOnThisKernel(t *testing.T) {
	f, err := Default.Create(t.TempDir() + "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := syncfsDevice(f); ok != syncfsOK() {
		t.Fatalf("syncfsDevice ok %v, syncfs usable %v", ok, syncfsOK())
	}
	if syncfsOK() {
		if err := syncfs(f); err != nil {
			t.Fatal(err)
		}
	}
}
