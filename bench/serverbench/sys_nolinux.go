//go:build unix && !linux

package serverbench

import (
	"errors"
	"time"
)

// threadCPU: a thread's own CPU time is measured on Linux only.
func threadCPU() (time.Duration, error) {
	return 0, errors.New("serverbench: a thread's CPU time is measured on Linux only")
}
