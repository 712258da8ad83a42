package jetstream

import (
	"strings"
	"testing"
)

func TestSubjectToken(t *testing.T) {
	for name, want := range map[string]string{
		"notes":        "notes",
		"My-Notes_2":   "My-Notes_2",
		"my notes":     "my%20notes",
		"a.b*c>d":      "a%2Eb%2Ac%3Ed",
		"100%":         "100%25",
		"日":            "%E6%97%A5",
		"~workspace~1": "%7Eworkspace%7E1",
	} {
		if got := escapeToken(name); got != want {
			t.Errorf("escapeToken(%q) = %q, want %q", name, got, want)
		}
		back, err := unescapeToken(want)
		if err != nil || back != name {
			t.Errorf("unescapeToken(%q) = %q, %v; want %q", want, back, err, name)
		}
	}
	// Tokens escapeToken cannot produce are rejected, so a name has
	// exactly one subject.
	for _, bad := range []string{"", "a.b", "a b", "%41", "%e6%97%a5", "%4", "%zz", "a*"} {
		if got, err := unescapeToken(bad); err == nil {
			t.Errorf("unescapeToken(%q) = %q, want an error", bad, got)
		}
	}
}

func FuzzSubjectToken(f *testing.F) {
	for _, s := range []string{"notes", "a.b", "日本", "%", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		tok := escapeToken(name)
		if strings.ContainsAny(tok, ".*> \t\r\n") {
			t.Fatalf("token %q of %q is not one subject token", tok, name)
		}
		back, err := unescapeToken(tok)
		if err != nil || back != name {
			t.Fatalf("round trip of %q: %q, %v", name, back, err)
		}
	})
}

func TestMsgID(t *testing.T) {
	id := msgID("a1b2c3", "notes", 0, 36, 36)
	if !strings.HasPrefix(id, "a1b2c3.") || !strings.HasSuffix(id, ".10") || msgNode(id) != "a1b2c3" {
		t.Errorf("msgID = %q", id)
	}
	if id := msgID("a1b2c3", "notes", 0, 36, 71); !strings.HasSuffix(id, ".10-1z") || msgNode(id) != "a1b2c3" {
		t.Errorf("batch msgID = %q", id)
	}
	if msgID("n", "w1", 0, 1, 1) == msgID("n", "w2", 0, 1, 1) || msgID("n", "w", 0, 1, 1) == msgID("n", "w", 1, 1, 1) ||
		msgID("n", "w", 0, 1, 1) == msgID("n", "w", 0, 1, 2) {
		t.Error("message ids collide across workspaces or epochs")
	}
}

func TestOptionsConfig(t *testing.T) {
	c, err := (*Options)(nil).config("/data")
	if err != nil {
		t.Fatal(err)
	}
	if c.Replicas != 1 || c.StoreDir != "/data/NATS" || c.StateDir != "/data/REPLICATION" || c.NodeName == "" {
		t.Errorf("defaults: %+v", c)
	}
	c, err = (&Options{NodeName: "n1", ClusterAddr: "127.0.0.1:6222",
		Peers: []string{"nats://127.0.0.1:6222", "nats://127.0.0.1:6223", "nats://localhost:6224", "nats://127.0.0.1:6223"}}).config("/d")
	if err != nil {
		t.Fatal(err)
	}
	if c.clusterSize != 3 || c.Replicas != 3 {
		t.Errorf("cluster of 3 (self and a duplicate listed): size %d replicas %d", c.clusterSize, c.Replicas)
	}
	c, err = (&Options{NodeName: "n1", ClusterAddr: "127.0.0.1:6222", Peers: []string{"nats://127.0.0.1:6223"}}).config("/d")
	if err != nil || c.Replicas != 2 {
		t.Errorf("cluster of 2: %v, replicas %d", err, c.Replicas)
	}
	for _, bad := range []Options{
		{NodeName: "has space"},
		{NodeName: strings.Repeat("x", 200)},
		{URL: "nats://x:4222", ClusterAddr: "127.0.0.1:6222"},
		{NodeName: "n", Peers: []string{"nats://127.0.0.1:6223"}},
		{NodeName: "n", ClusterAddr: "127.0.0.1"},
		{NodeName: "n", ClusterAddr: "127.0.0.1:6222"},
		{NodeName: "n", ClusterAddr: "127.0.0.1:6222", Peers: []string{"http://x"}},
		{ClusterAddr: "127.0.0.1:6222", Peers: []string{"nats://127.0.0.1:6223"}}, // no name
		{Replicas: 7},
	} {
		if _, err := bad.config("/d"); err == nil {
			t.Errorf("config(%+v) accepted", bad)
		}
	}
}
