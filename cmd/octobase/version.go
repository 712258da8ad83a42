package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release version, set at link time:
//
//	go build -ldflags "-X main.version=v0.1.0" ./cmd/octobase
var version = "dev"

func versionCommand() *Command {
	return &Command{
		Name:  "version",
		Short: "print the version of octobase",
		Long: `Version prints the release version, the source revision when the build
recorded one, and the Go toolchain and platform.`,
		Example: `octobase version`,
		New:     func() Runner { return &versionRunner{} },
	}
}

type versionRunner struct{}

func (*versionRunner) Flags(*flag.FlagSet) {}

func (*versionRunner) Run(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	_, err := fmt.Fprintln(env.Stdout, versionString())
	return err
}

// versionString is "octobase VERSION [REVISION[-dirty]] (GOVERSION GOOS/GOARCH)".
func versionString() string {
	s := "octobase " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.revision":
				rev = kv.Value
			case "vcs.modified":
				if kv.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			s += " " + rev + dirty
		}
	}
	return fmt.Sprintf("%s (%s %s/%s)", s, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
