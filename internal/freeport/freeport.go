// Package freeport finds loopback TCP ports that are free now, for tests
// and benchmarks that must know ports before they start servers (NATS
// cluster routes name each other's ports up front).
//
// Ports are picked at random in [20000, 30000), below the Linux ephemeral
// range, so outgoing connections do not take them between the check and
// the use. A port found free may still be taken by then by another
// process: callers that can, retry.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// Loopback returns n distinct loopback ports that accepted a listener
// just now.
func Loopback(n int) ([]int, error) {
	var ports []int
	seen := map[int]bool{}
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("freeport: no free loopback ports")
		}
		p := 20000 + rand.IntN(10000)
		if seen[p] {
			continue
		}
		seen[p] = true
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		ports = append(ports, p)
	}
	return ports, nil
}
