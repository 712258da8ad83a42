package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Access is what a token allows on its workspace.
type Access uint8

// Access levels; AccessWrite includes AccessRead.
const (
	AccessRead Access = iota + 1
	AccessWrite
)

func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	}
	return fmt.Sprintf("Access(%d)", uint8(a))
}

// ParseAccess parses "read" or "write".
func ParseAccess(s string) (Access, error) {
	switch s {
	case "read":
		return AccessRead, nil
	case "write":
		return AccessWrite, nil
	}
	return 0, fmt.Errorf("server: access %q is neither read nor write", s)
}

// AllWorkspaces is the workspace of a token valid for every workspace (and
// for /metrics).
const AllWorkspaces = "*"

// MinSecretLen is the shortest accepted token secret, in bytes.
const MinSecretLen = 16

// Token errors, returned by Auth.Verify.
var (
	ErrTokenInvalid = errors.New("server: invalid token")
	ErrTokenExpired = errors.New("server: token expired")
)

// Claims are what a token grants: Access to Workspace (or AllWorkspaces)
// until Expires.
type Claims struct {
	Workspace string
	Access    Access
	Expires   time.Time
	ID        string // the token's id, for revocation ("" for tokens issued without one)
}

// tokenPrefix starts every token and names its format version.
const tokenPrefix = "ob1."

// tokenEncoding encodes a token's payload and signature: base64url without
// padding, decoded strictly.
var tokenEncoding = base64.RawURLEncoding.Strict()

// tokenPayload is the JSON inside a token.
type tokenPayload struct {
	Workspace string `json:"ws"`
	Access    string `json:"acc"`
	Expires   int64  `json:"exp"` // Unix seconds
	ID        string `json:"id,omitempty"`
}

// Auth issues and verifies tokens: "ob1." + base64url(JSON payload) + "." +
// base64url(HMAC-SHA256(secret, "ob1." + base64url(payload))). The payload
// holds the workspace ("*" for all), the access ("read" or "write") and the
// expiry (Unix seconds) and a random id. A token is revoked by listing its
// id (revoke.go); changing the secret revokes them all.
type Auth struct {
	secret []byte
	now    func() time.Time

	revMu   sync.Mutex                           // serializes writers of revoked
	revoked atomic.Pointer[map[string]time.Time] // revoked token ids → expiry
}

// NewAuth returns an Auth signing with secret (at least MinSecretLen bytes).
// now supplies the time for expiry checks; nil means time.Now.
func NewAuth(secret []byte, now func() time.Time) (*Auth, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("server: auth secret of %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	if now == nil {
		now = time.Now
	}
	return &Auth{secret: append([]byte(nil), secret...), now: now}, nil
}

// Issue returns a token granting access to workspace until expires.
func (a *Auth) Issue(workspace string, access Access, expires time.Time) (string, error) {
	if workspace == "" {
		return "", errors.New("server: token for an empty workspace name")
	}
	if access != AccessRead && access != AccessWrite {
		return "", fmt.Errorf("server: invalid access %v", access)
	}
	id, err := newTokenID()
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(tokenPayload{Workspace: workspace, Access: access.String(), Expires: expires.Unix(), ID: id})
	if err != nil {
		return "", err
	}
	signed := tokenPrefix + tokenEncoding.EncodeToString(p)
	return signed + "." + tokenEncoding.EncodeToString(a.sign(signed)), nil
}

func (a *Auth) sign(s string) []byte {
	m := hmac.New(sha256.New, a.secret)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// Verify checks token's signature and expiry and returns its claims.
// ErrTokenInvalid for anything malformed or badly signed, ErrTokenExpired
// for a good token past its expiry, ErrTokenRevoked for a revoked one.
func (a *Auth) Verify(token string) (Claims, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 4096 {
		return Claims{}, ErrTokenInvalid
	}
	dot := strings.LastIndexByte(token, '.')
	if dot < len(tokenPrefix) {
		return Claims{}, ErrTokenInvalid
	}
	signed, sig := token[:dot], token[dot+1:]
	// Strict: a last character whose unused bits are set would decode to
	// the same signature, and a token has exactly one spelling.
	got, err := tokenEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, a.sign(signed)) {
		return Claims{}, ErrTokenInvalid
	}
	raw, err := tokenEncoding.DecodeString(signed[len(tokenPrefix):])
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	var p tokenPayload
	if err := json.Unmarshal(raw, &p); err != nil || p.Workspace == "" {
		return Claims{}, ErrTokenInvalid
	}
	acc, err := ParseAccess(p.Access)
	if err != nil {
		return Claims{}, ErrTokenInvalid
	}
	c := Claims{Workspace: p.Workspace, Access: acc, Expires: time.Unix(p.Expires, 0), ID: p.ID}
	if !a.now().Before(c.Expires) {
		return c, ErrTokenExpired
	}
	if a.IsRevoked(c.ID) {
		return c, ErrTokenRevoked
	}
	return c, nil
}

// Allows reports whether c grants need on workspace.
func (c Claims) Allows(workspace string, need Access) bool {
	return (c.Workspace == AllWorkspaces || c.Workspace == workspace) && c.Access >= need
}

// KeyFile is the name of the secret file cmd/octobase keeps in its data
// directory (upper case, like the store's LOCK, so it can never be taken
// for a workspace directory).
const KeyFile = "AUTH_KEY"

// LoadOrCreateKey returns the secret stored (hex) in path, first creating
// the file with 32 random bytes, mode 0600, if it does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) { // created meanwhile
			return LoadOrCreateKey(path)
		}
		if err != nil {
			return nil, err
		}
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
		if err2 := f.Sync(); err == nil {
			err = err2
		}
		if err2 := f.Close(); err == nil {
			err = err2
		}
		if err != nil {
			os.Remove(path)
			return nil, err
		}
		return key, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < MinSecretLen {
		return nil, fmt.Errorf("server: %s does not hold a hex secret of at least %d bytes", path, MinSecretLen)
	}
	return key, nil
}

// authError is why a request is not authorized.
type authError struct {
	status int // 401 or 403
	code   string
	msg    string
}

// check returns the claims of req for need on workspace, or why not. With
// auth off it grants everything. The token is the Authorization bearer
// header or, for WebSocket handshakes (browsers cannot set headers), the
// token query parameter.
func (s *Server) check(req *http.Request, workspace string, need Access) (Claims, *authError) {
	c, ae := s.authenticate(req)
	if ae != nil {
		return c, ae
	}
	if c.Workspace != AllWorkspaces && c.Workspace != workspace {
		return c, &authError{http.StatusForbidden, codeForbidden, "token is not valid for this workspace"}
	}
	if c.Access < need {
		return c, &authError{http.StatusForbidden, codeForbidden, "token grants " + c.Access.String() + " access, " + need.String() + " is needed"}
	}
	return c, nil
}

// authenticate returns the claims of req's token, whatever they grant.
func (s *Server) authenticate(req *http.Request) (Claims, *authError) {
	if s.opts.Auth == nil {
		return Claims{Workspace: AllWorkspaces, Access: AccessWrite}, nil
	}
	tok := ""
	if h := req.Header.Get("Authorization"); h != "" {
		scheme, rest, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return Claims{}, &authError{http.StatusUnauthorized, codeUnauthorized, "Authorization must be \"Bearer <token>\""}
		}
		tok = strings.TrimSpace(rest)
	} else {
		tok = req.URL.Query().Get("token")
	}
	if tok == "" {
		return Claims{}, &authError{http.StatusUnauthorized, codeUnauthorized, "missing token"}
	}
	c, err := s.opts.Auth.Verify(tok)
	switch {
	case errors.Is(err, ErrTokenExpired):
		return Claims{}, &authError{http.StatusUnauthorized, codeUnauthorized, "token expired"}
	case errors.Is(err, ErrTokenRevoked):
		return Claims{}, &authError{http.StatusUnauthorized, codeUnauthorized, "token revoked"}
	case err != nil:
		return Claims{}, &authError{http.StatusUnauthorized, codeUnauthorized, "invalid token"}
	}
	return c, nil
}

// untilExpiry is how long c's token stays valid, by the Auth's clock.
func (s *Server) untilExpiry(c Claims) time.Duration {
	now := time.Now
	if s.opts.Auth != nil {
		now = s.opts.Auth.now
	}
	return c.Expires.Sub(now())
}

// authorize checks req for need on workspace; if it is refused it writes
// the 401 or 403 JSON error and reports false.
func (s *Server) authorize(w http.ResponseWriter, req *http.Request, workspace string, need Access) bool {
	_, ae := s.check(req, workspace, need)
	return s.refuse(w, ae)
}

// refuse writes ae's response, if any, and reports whether there was none.
func (s *Server) refuse(w http.ResponseWriter, ae *authError) bool {
	if ae != nil {
		s.metrics.authFailures.Add(1)
		if ae.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="octobase"`)
		}
		writeError(w, ae.status, ae.code, ae.msg)
		return false
	}
	return true
}
