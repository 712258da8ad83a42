package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"octobase/server"
)

// envAuthSecret holds the token secret when --auth-secret is not given.
const envAuthSecret = "OCTOBASE_AUTH_SECRET"

func tokenCommand() *Command {
	return &Command{
		Name:  "token",
		Short: "issue access tokens for a node",
		Long: `Tokens authorize HTTP requests (Authorization: Bearer <token>) and WebSocket
connections (?token=<token>) to a node that requires authentication (see
docs/http-api.md). A token is signed with HMAC-SHA256 and names one workspace (or
"*" for all), read or write access, and an expiry; it cannot be revoked alone:
changing the secret revokes every token.`,
		Subcommands: []*Command{
			{
				Name:  "create",
				Short: "print a signed token for a workspace",
				Long: `Create prints a token granting --access (read or write) to --workspace (or "*")
for --ttl. It signs with the secret serve uses: --auth-secret, else the environment
variable OCTOBASE_AUTH_SECRET, else the key file AUTH_KEY in --data (created, mode
0600, with a random secret if it does not exist yet). Run it with the same --data
(or secret) as the node.`,
				Example: `octobase token create --workspace notes --access write --ttl 24h
curl -H "Authorization: Bearer $(octobase token create --workspace notes --access read)" \
  http://127.0.0.1:3000/api/workspaces/notes/blocks`,
				New: func() Runner { return &tokenCreateRunner{getenv: os.Getenv, now: time.Now} },
			},
		},
	}
}

type tokenCreateRunner struct {
	data, workspace, access, secret string
	ttl                             time.Duration

	fs     *flag.FlagSet
	getenv func(string) string
	now    func() time.Time
}

func (r *tokenCreateRunner) Flags(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.data, "data", "./octobase-data", "the node's store `DIR`, which holds the key file (env "+envData+")")
	fs.StringVar(&r.workspace, "workspace", "", "the `WORKSPACE` the token grants (\"*\": every workspace)")
	fs.StringVar(&r.access, "access", "read", "`read` or write")
	fs.DurationVar(&r.ttl, "ttl", 24*time.Hour, "how long the token is valid")
	fs.StringVar(&r.secret, "auth-secret", "", "the signing `SECRET` (env "+envAuthSecret+"; default: the key file in --data)")
}

func (r *tokenCreateRunner) Run(_ context.Context, env *Env, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	if r.workspace == "" {
		return usagef("missing --workspace")
	}
	acc, err := server.ParseAccess(r.access)
	if err != nil {
		return usagef("--access must be read or write, not %q", r.access)
	}
	if r.ttl <= 0 {
		return usagef("--ttl must be positive")
	}
	set := map[string]bool{}
	r.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if v := r.getenv(envData); v != "" && !set["data"] {
		r.data = v
	}
	secret, err := authSecret(r.secret, r.getenv, r.data)
	if err != nil {
		return err
	}
	a, err := server.NewAuth(secret, nil)
	if err != nil {
		return err
	}
	tok, err := a.Issue(r.workspace, acc, r.now().Add(r.ttl))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, tok)
	return err
}

// authSecret returns the token secret: flag, else environment variable,
// else the key file in dataDir, created on first use.
func authSecret(flagValue string, getenv func(string) string, dataDir string) ([]byte, error) {
	s := flagValue
	if s == "" {
		s = getenv(envAuthSecret)
	}
	if s != "" {
		if len(s) < server.MinSecretLen {
			return nil, usagef("the auth secret must be at least %d bytes", server.MinSecretLen)
		}
		return []byte(s), nil
	}
	return server.LoadOrCreateKey(filepath.Join(dataDir, server.KeyFile))
}
