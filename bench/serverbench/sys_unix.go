//go:build unix

package serverbench

import (
	"fmt"
	"syscall"
	"time"
)

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is RUSAGE_THREAD (Linux): the calling thread's usage.
// Elsewhere getrusage rejects it, and WriteFloor reports the error.
const rusageThread = 1

// threadCPU is the calling thread's user+system CPU time.
func threadCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// raiseFileLimit makes RLIMIT_NOFILE's soft limit at least need if the hard
// limit allows, and returns the resulting soft limit. It fails, naming both
// limits, when the hard limit is too low.
func raiseFileLimit(need uint64) (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("reading RLIMIT_NOFILE: %w", err)
	}
	if rl.Cur >= need {
		return rl.Cur, nil
	}
	if rl.Max < need {
		return rl.Cur, fmt.Errorf("RLIMIT_NOFILE is %d (hard limit %d) and %d descriptors are needed: raise the hard limit (ulimit -Hn, or LimitNOFILE in systemd)", rl.Cur, rl.Max, need)
	}
	rl.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("raising RLIMIT_NOFILE to %d: %w", need, err)
	}
	return need, nil
}
