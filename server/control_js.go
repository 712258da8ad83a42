//go:build js

package server

import (
	"sync/atomic"

	"github.com/coder/websocket"
)

// controlHandlers: coder/websocket under js/wasm has no server side worth
// the name (no hijacking) and no control-frame hooks.
func controlHandlers(*websocket.AcceptOptions, *atomic.Pointer[conn]) {}
