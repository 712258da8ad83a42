//go:build !unix

package merge

// cpuMS is not measured on this platform.
func cpuMS() float64 { return 0 }
