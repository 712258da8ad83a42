//go:build !unix

package server

import (
	"errors"
	"syscall"
)

const nonblockWrites = false

func writeNonblock(syscall.RawConn, []byte) (int, error) {
	return 0, errors.ErrUnsupported
}
