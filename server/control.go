//go:build !js

package server

import (
	"context"
	"sync/atomic"

	"github.com/coder/websocket"
)

// controlHandlers makes the connection of cref (once set) answer pings
// with its own pong frames, in order with its other frames, and note
// pongs for the sweeper.
func controlHandlers(opts *websocket.AcceptOptions, cref *atomic.Pointer[conn]) {
	opts.OnPingReceived = func(_ context.Context, p []byte) bool {
		c := cref.Load()
		if c == nil {
			return true // coder/websocket answers: nothing else writes yet
		}
		c.sendFrame(appendFrame(nil, opPong, p))
		return false
	}
	opts.OnPongReceived = func(context.Context, []byte) {
		if c := cref.Load(); c != nil {
			c.pongSeen.Store(true)
		}
	}
}
