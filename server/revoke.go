package server

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Revocation. Tokens carry a random id (payload field "id"; tokens issued
// before ids existed have none and can only be revoked with the secret).
// A revoked id is listed, with the token's expiry, one per line
// ("<id> <expiry, Unix seconds>"), in a file next to the key file
// (RevokedFile; octobase token revoke appends to it). A server given the
// file (Options.RevokedFile) reads it at start and again whenever it
// changes (checked every Options.RevokedPoll): from then on the token is
// refused like an expired one, and the WebSocket connections and SSE
// streams opened with it are closed (4401 "token revoked"; an error
// event). Lines of tokens past their expiry are ignored when the file is
// read. The file is only ever appended to (by concurrent revokers, safely:
// one line per append), never rewritten, so it keeps expired lines: about
// 30 bytes per revoked token.

// RevokedFile is the name of the revocation list cmd/octobase keeps in its
// data directory, beside KeyFile.
const RevokedFile = "AUTH_REVOKED"

// ErrTokenRevoked is returned by Auth.Verify for a revoked token.
var ErrTokenRevoked = errors.New("server: token revoked")

// newTokenID returns a random token id: 8 bytes, base64url.
func newTokenID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Revoke makes a refuse the token with id from now on (until its expiry,
// after which it is refused anyway). It changes only this Auth: RevokeToken
// records it for other processes.
func (a *Auth) Revoke(id string, expires time.Time) {
	a.revMu.Lock()
	defer a.revMu.Unlock()
	next := map[string]time.Time{id: expires}
	if cur := a.revoked.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	a.revoked.Store(&next)
}

// SetRevoked replaces the set of revoked token ids (id → the token's
// expiry).
func (a *Auth) SetRevoked(ids map[string]time.Time) {
	a.revMu.Lock()
	defer a.revMu.Unlock()
	c := make(map[string]time.Time, len(ids))
	for k, v := range ids {
		c[k] = v
	}
	a.revoked.Store(&c)
}

// IsRevoked reports whether the token with id is revoked.
func (a *Auth) IsRevoked(id string) bool {
	if id == "" {
		return false
	}
	m := a.revoked.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[id]
	return ok
}

// RevokeToken appends id, valid until expires, to the revocation list at
// path (created, mode 0600, if missing) and syncs it.
func RevokeToken(path, id string, expires time.Time) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n") {
		return fmt.Errorf("server: invalid token id %q", id)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s %d\n", id, expires.Unix())
	if err2 := f.Sync(); err == nil {
		err = err2
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	return err
}

// LoadRevoked reads the revocation list at path: the ids of tokens not yet
// expired at now. A missing file is an empty list; a malformed line is an
// error naming it.
func LoadRevoked(path string, now time.Time) (map[string]time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]time.Time{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]time.Time{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, exp, ok := strings.Cut(line, " ")
		sec, err := strconv.ParseInt(strings.TrimSpace(exp), 10, 64)
		if !ok || err != nil || id == "" {
			return nil, fmt.Errorf("server: %s:%d: want \"<token id> <expiry, Unix seconds>\", got %q", path, n, line)
		}
		if t := time.Unix(sec, 0); now.Before(t) {
			out[id] = t
		}
	}
	return out, sc.Err()
}

// watchRevoked reloads Options.RevokedFile whenever its size or
// modification time changes, and closes what revoked tokens opened.
func (s *Server) watchRevoked() {
	defer s.wg.Done()
	var lastMod time.Time
	var lastSize int64 = -1
	t := time.NewTicker(s.opts.RevokedPoll)
	defer t.Stop()
	for {
		fi, err := os.Stat(s.opts.RevokedFile)
		var mod time.Time
		var size int64
		if err == nil {
			mod, size = fi.ModTime(), fi.Size()
		}
		if err == nil || errors.Is(err, os.ErrNotExist) {
			if !mod.Equal(lastMod) || size != lastSize {
				ids, err := LoadRevoked(s.opts.RevokedFile, s.opts.Auth.now())
				if err != nil {
					s.log.Error("reading the revoked tokens; keeping the previous list", "err", err)
				} else {
					s.opts.Auth.SetRevoked(ids)
					lastMod, lastSize = mod, size
					s.closeRevoked()
				}
			}
		} else {
			s.log.Error("reading the revoked tokens", "err", err)
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// closeRevoked closes the WebSocket connections whose token is revoked and
// wakes the SSE streams to check theirs.
func (s *Server) closeRevoked() {
	for _, c := range s.appendLive(nil) {
		if s.opts.Auth.IsRevoked(c.tokenID) {
			c.kick(statusUnauthorized, "token revoked")
		}
	}
	s.revMu.Lock()
	close(s.revokedC)
	s.revokedC = make(chan struct{})
	s.revMu.Unlock()
}

// revocations returns a channel closed at the next change of the revoked
// tokens.
func (s *Server) revocations() <-chan struct{} {
	s.revMu.Lock()
	defer s.revMu.Unlock()
	return s.revokedC
}
