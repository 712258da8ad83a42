package main

import (
	"context"
	"flag"
	"strings"
)

func helpCommand() *Command {
	return &Command{
		Name:  "help",
		Args:  "[command...]",
		Short: "show help for a command",
		Long: `Help describes a command: what it does, its flags and an example. Every
command also accepts -h and --help.`,
		Example: `octobase help update state`,
		New:     func() Runner { return &helpRunner{} },
	}
}

type helpRunner struct{}

func (*helpRunner) Flags(*flag.FlagSet) {}

func (*helpRunner) Run(_ context.Context, env *Env, args []string) error {
	path := []*Command{env.root}
	for i, a := range args {
		sub := path[len(path)-1].sub(a)
		if sub == nil {
			return usagef("unknown command %q", strings.Join(args[:i+1], " "))
		}
		path = append(path, sub)
	}
	writeHelp(env.Stdout, path)
	return nil
}
