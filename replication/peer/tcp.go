package peer

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"octobase/engine"
)

// Dial connects to a peer listening on the TCP address addr and runs one
// session (Sync) over the connection.
func Dial(ctx context.Context, store *engine.Store, addr string, opts *Options) (Stats, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return Stats{}, err
	}
	return Sync(ctx, store, conn, opts)
}

// Listen listens on the TCP address addr ("127.0.0.1:7000"; port 0 picks
// one) for Serve.
func Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

// Serve accepts connections on ln and runs a session (Sync with opts) on
// each, concurrently, until ctx ends or ln fails; then it closes ln, ends
// the sessions and waits for them. It returns nil when ctx ended it. Each
// session's end is reported to onEnd, if set (from the session's
// goroutine), with the remote address. A session ending in error does not
// stop the others.
func Serve(ctx context.Context, store *engine.Store, ln net.Listener, opts *Options, onEnd func(addr string, st Stats, err error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			addr := conn.RemoteAddr().String()
			o := options(opts)
			o.Logger = o.Logger.With("addr", addr)
			st, err := Sync(ctx, store, conn, o)
			if onEnd != nil {
				onEnd(addr, st, err)
			}
		}()
	}
}

// options returns a copy of opts with a logger.
func options(opts *Options) *Options {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &o
}

// Pipe returns the two ends of an in-memory, synchronous, full-duplex
// stream (net.Pipe): run Sync on each end to sync two stores of one
// process.
func Pipe() (io.ReadWriteCloser, io.ReadWriteCloser) { return net.Pipe() }

// NewStream joins a reader and a writer into one stream: standard input and
// output (`octobase sync --stdio` under ssh), the two ends of a child
// process's pipes, a WebRTC data channel's detached reader and writer.
// Close closes both if they are io.Closers.
func NewStream(r io.Reader, w io.Writer) io.ReadWriteCloser { return &stream{r: r, w: w} }

type stream struct {
	r    io.Reader
	w    io.Writer
	once sync.Once
	err  error
}

func (s *stream) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *stream) Write(p []byte) (int, error) { return s.w.Write(p) }

func (s *stream) Close() error {
	s.once.Do(func() {
		var errs []error
		if c, ok := s.w.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
		if c, ok := s.r.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
		s.err = errors.Join(errs...)
	})
	return s.err
}
