//go:build unix

package serverbench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
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

// selfUsage is this process's user+system CPU time and context switches
// (voluntary and involuntary).
func selfUsage() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Nvcsw + ru.Nivcsw)
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

// WakeCost measures what one wake-up of a sleeping thread costs on this
// machine: two threads hand a byte back and forth n times through pipes,
// each sleeping in read(2) until the other writes; the process's CPU time
// over the exchange, divided by the 2n wake-ups. On bare metal this is a
// few microseconds; virtual machines that trap context switches cost much
// more, and that weighs on every update a lightly loaded server handles.
func WakeCost(n int) (time.Duration, error) {
	r1, w1, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r1.Close()
	defer w1.Close()
	r2, w2, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r2.Close()
	defer w2.Close()
	// Fd puts the pipes in blocking mode: a read sleeps in the kernel.
	fr1, fw1, fr2, fw2 := int(r1.Fd()), int(w1.Fd()), int(r2.Fd()), int(w2.Fd())
	echo := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b := make([]byte, 1)
		for range n {
			if _, err := syscall.Read(fr1, b); err != nil {
				echo <- err
				return
			}
			if _, err := syscall.Write(fw2, b); err != nil {
				echo <- err
				return
			}
		}
		echo <- nil
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b := make([]byte, 1)
	c0 := selfCPU()
	for range n {
		if _, err := syscall.Write(fw1, b); err != nil {
			return 0, err
		}
		if _, err := syscall.Read(fr2, b); err != nil {
			return 0, err
		}
	}
	cpu := selfCPU() - c0
	if err := <-echo; err != nil {
		return 0, err
	}
	if cpu <= 0 {
		return 0, errors.New("serverbench: no CPU time measured")
	}
	return cpu / time.Duration(2*n), nil
}
