// Command octobase is the OctoBase command-line tool: utilities for yjs
// updates today, and the daemon and its tools as they land.
//
// main stays tiny; everything testable lives behind run (see command.go for
// the command registry and dispatcher, and one file per command group).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
