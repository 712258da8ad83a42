//go:build js

package serverbench

import "github.com/coder/websocket"

// In a browser or Node.js the WebSocket is the host's: no HTTP client.
func dialOptions() *websocket.DialOptions { return nil }
