//go:build unix

package server

import (
	"errors"
	"syscall"
)

const nonblockWrites = true

// writeNonblock makes one write(2) of p to the socket of raw, which Go
// keeps in non-blocking mode: it writes what the socket buffer takes now
// and never waits. A full buffer is n = 0 and no error.
func writeNonblock(raw syscall.RawConn, p []byte) (n int, err error) {
	cerr := raw.Control(func(fd uintptr) {
		for {
			n, err = syscall.Write(int(fd), p)
			if err != syscall.EINTR {
				return
			}
		}
	})
	if cerr != nil {
		return 0, cerr
	}
	if n < 0 {
		n = 0
	}
	if errors.Is(err, syscall.EAGAIN) {
		err = nil
	}
	return n, err
}
