package serverbench

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"time"

	"octobase/oplog/vfs"
)

// WriteFloor measures, on this machine, the CPU time of one write(2) of a
// size-byte message to a loopback TCP socket whose reader is waiting, over
// conns connections: the least a server pays per message per subscriber
// when it writes each message with its own system call, as the sync server
// does (one WebSocket frame, one write). It writes rounds of one message to
// every connection (one broadcast each), pause apart: with no pause the
// rounds follow each other as under a closed loop, with one (a light load)
// every reader is idle again when the next round wakes it. Only the writes
// are timed, as the writing thread's own CPU (threadCPU: CLOCK_THREAD_CPUTIME_ID),
// which includes the kernel's loopback delivery and the reader's wake-up;
// the readers' CPU is not counted. It returns 0 and an error where
// a thread's CPU time is not measured (outside Linux).
func WriteFloor(conns, rounds, size int, pause time.Duration) (time.Duration, error) {
	writers, stop, err := loopbackPairs(conns)
	if err != nil {
		return 0, err
	}
	defer stop()
	msg := make([]byte, size)
	errc := make(chan error, 1)
	var cpu time.Duration
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range rounds {
			if pause > 0 {
				time.Sleep(pause)
			}
			t0, err := threadCPU()
			if err != nil {
				errc <- err
				return
			}
			for _, w := range writers {
				if _, err := w.Write(msg); err != nil {
					errc <- err
					return
				}
			}
			t1, err := threadCPU()
			if err != nil {
				errc <- err
				return
			}
			cpu += t1 - t0
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return 0, err
	}
	if cpu <= 0 {
		return 0, errors.New("serverbench: no thread CPU time measured")
	}
	return cpu / time.Duration(rounds*conns), nil
}

// loopbackPairs connects conns loopback TCP connections (no delay) whose
// far ends are read and discarded by goroutines; stop closes them all and
// waits for the readers.
func loopbackPairs(conns int) (writers []net.Conn, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	defer ln.Close()
	var wg sync.WaitGroup
	stop = func() {
		for _, c := range writers {
			c.Close()
		}
		wg.Wait()
	}
	accepted := make(chan net.Conn, conns)
	wg.Go(func() {
		for range conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	})
	for range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			stop()
			return nil, nil, err
		}
		c.(*net.TCPConn).SetNoDelay(true)
		writers = append(writers, c)
		r := <-accepted
		wg.Go(func() {
			defer r.Close()
			buf := make([]byte, 64<<10)
			for {
				if _, err := r.Read(buf); err != nil {
					return
				}
			}
		})
	}
	return writers, stop, nil
}

// FsyncFloor measures, on this machine, the CPU time of making a small
// append durable the way the op-log does: n times, a size-byte write to a
// new file in dir, inside space reserved beforehand (vfs.File.Allocate,
// as the log reserves its active segment; a plain append where the
// filesystem cannot reserve), followed by its fsync, timed as the
// thread's own CPU (threadCPU, the kernel's work for the flush included,
// the Go scheduler's around the blocking call not). It is what a server
// pays per fsync whatever its code: per delivery, the floor of a store
// that fsyncs k times for d deliveries is WriteFloor + FsyncFloor × k ÷ d.
// It returns 0 and an error where a thread's CPU time is not measured
// (outside Linux).
func FsyncFloor(dir string, n, size int) (time.Duration, error) {
	tmp, err := os.CreateTemp(dir, "fsync-floor-")
	if err != nil {
		return 0, err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	f, err := vfs.Default.Create(tmp.Name())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := f.Allocate(int64(n*size) + 4096); err != nil && !errors.Is(err, vfs.ErrUnsupported) {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	msg := make([]byte, size)
	type result struct {
		cpu time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0, err := threadCPU()
		if err != nil {
			done <- result{err: err}
			return
		}
		for range n {
			if _, err := f.Write(msg); err != nil {
				done <- result{err: err}
				return
			}
			if err := f.Sync(); err != nil {
				done <- result{err: err}
				return
			}
		}
		t1, err := threadCPU()
		done <- result{cpu: t1 - t0, err: err}
	}()
	r := <-done
	if r.err != nil {
		return 0, r.err
	}
	if r.cpu <= 0 {
		return 0, errors.New("serverbench: no thread CPU time measured")
	}
	return r.cpu / time.Duration(n), nil
}
