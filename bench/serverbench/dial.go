//go:build !js

package serverbench

import (
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// httpClient dials loopback without proxies.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:       nil,
	DialContext: (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
}}

func dialOptions() *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: httpClient}
}
