//go:build linux

package vfs

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// sysSyncfs is the syncfs(2) system call number of this architecture; 0
// where the standard library's tables do not give one and it is not known
// here (SyncAll then syncs file by file).
var sysSyncfs = map[string]uintptr{
	"amd64": 306, "386": 344, "arm": 373, "arm64": 267, "riscv64": 267, "loong64": 267,
	"ppc64": 348, "ppc64le": 348, "s390x": 338,
}[runtime.GOARCH]

// syncfsOK reports whether the kernel reports writeback errors from
// syncfs(2): Linux 5.8 and later.
var syncfsOK = sync.OnceValue(func() bool {
	if sysSyncfs == 0 {
		return false
	}
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return false
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return kernelAtLeast(b.String(), 5, 8)
})

// kernelAtLeast reports whether release ("6.1.0-13-amd64") is at least
// major.minor.
func kernelAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	m := parts[1]
	if i := strings.IndexFunc(m, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		m = m[:i] // "8-rc1"
	}
	mn, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mn >= minor
}

// syncfsDevice returns the device of f's filesystem if f is an operating
// system file that syncfs can make durable.
func syncfsDevice(f File) (uint64, bool) {
	o, ok := f.(*osFile)
	if !ok || !syncfsOK() {
		return 0, false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(o.f.Fd()), &st); err != nil {
		return 0, false
	}
	return uint64(st.Dev), true
}

// syncfs makes the filesystem of f durable.
func syncfs(f File) error {
	o := f.(*osFile)
	for {
		_, _, e := syscall.Syscall(sysSyncfs, o.f.Fd(), 0, 0)
		switch e {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		default:
			return fmt.Errorf("syncfs %s: %w", o.f.Name(), e)
		}
	}
}
