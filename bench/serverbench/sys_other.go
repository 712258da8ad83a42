//go:build !unix

package serverbench

import (
	"errors"
	"time"
)

// The benchmark measures CPU and descriptors with Unix system calls; on
// other systems it still runs, and reports what it cannot measure.

var errUnsupported = errors.New("serverbench: not supported on this system")

func selfCPU() time.Duration { return 0 }

func selfUsage() (time.Duration, int64) { return 0, 0 }

func threadCPU() (time.Duration, error) { return 0, errUnsupported }

func raiseFileLimit(need uint64) (uint64, error) { return 0, errUnsupported }

// WakeCost is not measured here.
func WakeCost(int) (time.Duration, error) { return 0, errUnsupported }
