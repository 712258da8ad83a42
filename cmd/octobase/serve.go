package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"octobase/engine"
	"octobase/server"
)

// Environment variables serve reads when the matching flag is not given.
const (
	envData = "OCTOBASE_DATA"
	envAddr = "OCTOBASE_ADDR"
)

// shutdownTimeout bounds how long serve waits for HTTP requests in flight
// when it is asked to stop.
const shutdownTimeout = 10 * time.Second

func serveCommand() *Command {
	return &Command{
		Name:  "serve",
		Short: "run an OctoBase node: y-websocket sync and the HTTP API",
		Long: `Serve opens the store in --data and serves it over HTTP: y-websocket
compatible sync at /sync/<workspace>, the update API at
/api/workspaces/<workspace>/update and /healthz (docs/http-api.md).
Every update is applied and persisted before it is broadcast.

The flags --data and --addr default to the environment variables
OCTOBASE_DATA and OCTOBASE_ADDR when those are set. There is no
authentication yet, so serve refuses to listen on an address other than
loopback unless --insecure-no-auth is given. SIGINT or SIGTERM stop it
gracefully: requests in flight finish, WebSocket clients are closed with
status 1001, and the store is closed (flushing its logs).`,
		Example: `octobase serve --data ./octobase-data --addr 127.0.0.1:3000`,
		New:     func() Runner { return &serveRunner{getenv: os.Getenv} },
	}
}

type serveRunner struct {
	data, addr     string
	maxMessageSize int64
	insecureNoAuth bool
	logLevel       string

	fs     *flag.FlagSet
	getenv func(string) string
	// ready, if set, is called with the listening address (tests).
	ready func(addr string)
}

func (r *serveRunner) Flags(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.data, "data", "./octobase-data", "store directory (env "+envData+")")
	fs.StringVar(&r.addr, "addr", "127.0.0.1:3000", "listen address host:port (env "+envAddr+")")
	fs.Int64Var(&r.maxMessageSize, "max-message-size", server.DefaultMaxMessageSize, "largest WebSocket message or HTTP update body, in bytes")
	fs.BoolVar(&r.insecureNoAuth, "insecure-no-auth", false, "allow listening on a non-loopback address without authentication")
	fs.StringVar(&r.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

func (r *serveRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := r.getenv(envData); v != "" && !set["data"] {
		r.data = v
	}
	if v := r.getenv(envAddr); v != "" && !set["addr"] {
		r.addr = v
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(r.logLevel)); err != nil {
		return usagef("invalid --log-level %q", r.logLevel)
	}
	if r.maxMessageSize <= 0 {
		return usagef("--max-message-size must be positive")
	}
	loopback, err := isLoopback(r.addr)
	if err != nil {
		return usagef("invalid --addr %q: %v", r.addr, err)
	}
	if !loopback && !r.insecureNoAuth {
		return fmt.Errorf("refusing to listen on %s: it is not a loopback address, and authentication (required off loopback) is not implemented yet; pass --insecure-no-auth to serve without it", r.addr)
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))

	store, err := engine.Open(r.data, &engine.Options{Logger: log.With("component", "engine")})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		store.Close()
		return err
	}
	srv := server.New(store, server.Options{
		Logger:         log.With("component", "server"),
		MaxMessageSize: r.maxMessageSize,
	})
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if !loopback {
		log.Warn("serving without authentication on a non-loopback address", "addr", ln.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "data", r.data)
	if r.ready != nil {
		r.ready(ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-errc:
	}

	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	srv.Close()
	if err := store.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// isLoopback reports whether addr (host:port) listens on loopback only.
// An empty host means every interface.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if host == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}
