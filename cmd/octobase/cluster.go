package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"octobase/replication/jetstream"
)

func clusterCommand() *Command {
	return &Command{
		Name:  "cluster",
		Short: "inspect the nodes replicating through NATS JetStream",
		Long: `These commands read the replication stream and the node reports through the
NATS client port of any node (octobase serve --nats-port) or through the external
NATS server the nodes use (docs/replication.md).`,
		Subcommands: []*Command{{
			Name:  "status",
			Short: "show the stream, its replicas and each node's lag",
			Long: `Status prints the update stream (messages, last sequence, leader), its
replicas as the stream leader sees them, and every node that reported: when it
last reported, the last stream sequence it applied, its lag (stream messages it
has not applied yet) and its backlog (local records not yet acknowledged by
JetStream). Nodes report every 2 seconds while NATS is reachable.`,
			Example: `octobase cluster status --nats-url nats://127.0.0.1:4222`,
			New:     func() Runner { return &clusterStatusRunner{} },
		}},
	}
}

type clusterStatusRunner struct {
	url     string
	json    bool
	timeout time.Duration
}

func (r *clusterStatusRunner) Flags(fs *flag.FlagSet) {
	fs.StringVar(&r.url, "nats-url", "nats://127.0.0.1:4222", "a node's NATS client URL, or the external NATS server's")
	fs.BoolVar(&r.json, "json", false, "print the report as JSON")
	fs.DurationVar(&r.timeout, "timeout", 10*time.Second, "give up after this long")
}

func (r *clusterStatusRunner) Run(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	rep, err := jetstream.Cluster(ctx, r.url)
	if err != nil {
		return err
	}
	if r.json {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	s := rep.Stream
	fmt.Fprintf(env.Stdout, "stream %s: %d messages, last sequence %d, R%d", s.Name, s.Msgs, s.LastSeq, s.Replicas)
	if s.Leader != "" {
		fmt.Fprintf(env.Stdout, ", leader %s", s.Leader)
	}
	fmt.Fprintln(env.Stdout)
	if len(rep.Replicas) > 0 {
		tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nREPLICA\tROLE\tCURRENT\tSEEN\tLAG")
		for _, p := range rep.Replicas {
			role, seen := "follower", p.Active.Round(time.Millisecond).String()
			if p.Leader {
				role, seen = "leader", "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%d\n", p.Name, role, p.Current, seen, p.Lag)
		}
		tw.Flush()
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tMODE\tREPORTED\tCONSUMED\tLAG\tBACKLOG\tWORKSPACES")
	for _, n := range rep.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s ago\t%d\t%d\t%d\t%d\n", n.Name, n.Mode, n.Age.Round(time.Second), n.Consumed, n.Lag, n.Backlog, n.Workspaces)
	}
	if len(rep.Nodes) == 0 {
		fmt.Fprintln(tw, "(no node has reported yet)")
	}
	return tw.Flush()
}
