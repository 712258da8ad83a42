package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"octobase/server"
)

// envAuthSecret holds the token secret when --auth-secret is not given.
const envAuthSecret = "OCTOBASE_AUTH_SECRET"

func tokenCommand() *Command {
	return &Command{
		Name:  "token",
		Short: "issue and revoke access tokens for a node",
		Long: `Tokens authorize HTTP requests (Authorization: Bearer <token>) and WebSocket
connections (?token=<token>) to a node that requires authentication (see
docs/http-api.md). A token is signed with HMAC-SHA256 and names one workspace (or
"*" for all), read or write access, an expiry and a random id. "token revoke" lists a
token's id in the node's AUTH_REVOKED file; changing the secret revokes every token.`,
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
			{
				Name:  "revoke",
				Args:  "TOKEN",
				Short: "revoke a token: the node refuses it and closes what it opened",
				Long: `Revoke checks TOKEN's signature with the node's secret (as create finds it) and
appends its id and expiry to the file AUTH_REVOKED in --data. A node serving --data
notices within a second: from then on it refuses the token (401, or close 4401 "token
revoked") and closes the WebSocket connections and change streams opened with it. The
line is ignored once the token would have expired anyway. Tokens issued before tokens
had ids cannot be revoked one by one: change the secret.`,
				Example: `octobase token revoke --data ./octobase-data "$TOKEN"`,
				New:     func() Runner { return &tokenRevokeRunner{getenv: os.Getenv} },
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
	a, err := nodeAuth(r.fs, r.getenv, &r.data, r.secret)
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

// nodeAuth returns the Auth of the node whose store is *data, which it
// first sets from OCTOBASE_DATA unless --data was given.
func nodeAuth(fs *flag.FlagSet, getenv func(string) string, data *string, secretFlag string) (*server.Auth, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "data" })
	if v := getenv(envData); v != "" && !given {
		*data = v
	}
	secret, err := authSecret(secretFlag, getenv, *data)
	if err != nil {
		return nil, err
	}
	return server.NewAuth(secret, nil)
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

type tokenRevokeRunner struct {
	data, secret string

	fs     *flag.FlagSet
	getenv func(string) string
}

func (r *tokenRevokeRunner) Flags(fs *flag.FlagSet) {
	r.fs = fs
	fs.StringVar(&r.data, "data", "./octobase-data", "the node's store `DIR`, which holds the key and revocation files (env "+envData+")")
	fs.StringVar(&r.secret, "auth-secret", "", "the signing `SECRET` (env "+envAuthSecret+"; default: the key file in --data)")
}

func (r *tokenRevokeRunner) Run(_ context.Context, env *Env, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one TOKEN")
	}
	a, err := nodeAuth(r.fs, r.getenv, &r.data, r.secret)
	if err != nil {
		return err
	}
	c, err := a.Verify(strings.TrimSpace(args[0]))
	switch {
	case errors.Is(err, server.ErrTokenExpired):
		fmt.Fprintf(env.Stdout, "the token expired at %s: nothing to revoke\n", c.Expires.UTC().Format(time.RFC3339))
		return nil
	case err != nil:
		return fmt.Errorf("not a token of this node (signed with another secret, or damaged): %w", err)
	case c.ID == "":
		return errors.New("this token has no id (issued before tokens had one): it can only be revoked by changing the secret")
	}
	if err := server.RevokeToken(filepath.Join(r.data, server.RevokedFile), c.ID, c.Expires); err != nil {
		return err
	}
	_, err = fmt.Fprintf(env.Stdout, "revoked token %s (%s access to %q, valid until %s)\n", c.ID, c.Access, c.Workspace, c.Expires.UTC().Format(time.RFC3339))
	return err
}
