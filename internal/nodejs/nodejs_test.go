package nodejs

import (
	"strings"
	"testing"
)

func TestBinary(t *testing.T) {
	t.Setenv(Env, "/nonexistent/node-for-this-test")
	if _, err := Binary(); err == nil || !strings.Contains(err.Error(), Env) {
		t.Fatalf("a missing binary: %v", err)
	}
	t.Setenv(Env, "")
	if p, err := Binary(); err == nil && p == "" {
		t.Fatal("no error and no path")
	}
}
