package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"

	"octobase/oplog"
	"octobase/oplog/vfs"
)

func oplogCommand() *Command {
	return &Command{
		Name:  "oplog",
		Short: "inspect and verify op-log directories",
		Long: `An op-log directory holds a workspace's segments and snapshots (see docs/format.md).
These commands read it without opening it for writing, so they are safe on a copy or
on a stopped node.`,
		Subcommands: []*Command{
			{
				Name:  "verify",
				Args:  "DIR",
				Short: "check every record, checksum, LSN and snapshot of a log",
				Long: `Verify reads every segment and snapshot of DIR and checks headers, frame and
record checksums and LSN continuity. It reports the first problem with its segment
and byte offset and exits 1; a torn tail at the very end (what a crash leaves, and
what opening the log would cut off) is reported but is not an error.`,
				Example: `octobase oplog verify ./octobase-data/ws1/log`,
				New:     func() Runner { return &oplogVerifyRunner{} },
			},
			{
				Name:  "dump",
				Args:  "DIR",
				Short: "print one line per record (LSN, time, origin, length, data)",
				Long: `Dump prints the records of DIR from --from on (all by default), one per line:
LSN, time (UTC), origin, length and the first bytes of the data in hex.`,
				Example: `octobase oplog dump --from 1000 ./octobase-data/ws1/log`,
				New:     func() Runner { return &oplogDumpRunner{} },
			},
		},
	}
}

type oplogVerifyRunner struct{}

func (*oplogVerifyRunner) Flags(*flag.FlagSet) {}

func (*oplogVerifyRunner) Run(_ context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one DIR")
	}
	rep, err := oplog.Verify(vfs.Default, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "ok: %d segments, %d frames, %d records, LSN %d..%d, %d bytes (%d uncompressed), %d snapshots\n",
		rep.Segments, rep.Frames, rep.Records, rep.FirstLSN, rep.LastLSN, rep.Bytes, rep.RawBytes, len(rep.Snapshots))
	if rep.TornBytes > 0 {
		fmt.Fprintf(env.Stdout, "torn tail: %d bytes at %s offset %d (opening the log truncates them)\n", rep.TornBytes, rep.TornSegment, rep.TornOffset)
	}
	return nil
}

type oplogDumpRunner struct{ from string }

func (r *oplogDumpRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.from, "from", "0", "first LSN to print (0: the first record)")
}

func (r *oplogDumpRunner) Run(_ context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one DIR")
	}
	from, err := strconv.ParseUint(r.from, 10, 64)
	if err != nil {
		return usagef("--from: %q is not an LSN", r.from)
	}
	return oplog.Dump(vfs.Default, args[0], oplog.LSN(from), env.Stdout)
}
