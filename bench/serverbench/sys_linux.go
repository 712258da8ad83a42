//go:build linux

package serverbench

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID.
const clockThreadCPUTime = 3

// threadCPU is the calling thread's CPU time, to the nanosecond:
// clock_gettime(CLOCK_THREAD_CPUTIME_ID) counts the running slice, which
// getrusage(RUSAGE_THREAD) leaves out until the next tick or switch (a
// round of writes shorter than a tick would read as nothing).
func threadCPU() (time.Duration, error) {
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0, e
	}
	return time.Duration(ts.Nano()), nil
}
