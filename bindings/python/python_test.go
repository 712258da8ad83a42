package python

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"octobase/bindings/bindingtest"
	"octobase/engine"
)

// TestPython runs test_octobase.py with the shared library: it applies an
// update made by a Go workspace, edits, queries and polls through the
// binding, checks the error cases, and hands back a diff that the Go
// workspace applies.
func TestPython(t *testing.T) {
	python := bindingtest.Tool(t, "python3")
	bindingtest.Track(t, "octobase.py", "test_octobase.py")
	lib := bindingtest.BuildLibrary(t, "c-shared")

	peer := bindingtest.NewPeer(t, "notes", 101)
	update := peer.Edit(t, func(b *engine.Blocks) error {
		if _, err := b.Create(engine.NewBlock{ID: "go-page", Flavour: "affine:page",
			Props: map[string]any{"title": engine.RichText{Text: "Made in Go"}}}); err != nil {
			return err
		}
		_, err := b.Create(engine.NewBlock{ID: "go-para", Flavour: "affine:paragraph", Parent: "go-page"})
		return err
	})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "update"), update)
	write(t, filepath.Join(dir, "gosv"), peer.StateVector(t))

	cmd := exec.Command(python, "test_octobase.py", dir)
	cmd.Env = append(os.Environ(), "OCTOBASE_LIB="+lib.Path, "PYTHONDONTWRITEBYTECODE=1")
	out := bindingtest.Run(t, cmd)
	t.Logf("python output:\n%s", out)
	if !strings.HasSuffix(out, "PASS\n") {
		t.Fatal("test_octobase.py did not print PASS")
	}
	if n := strings.Count(out, "expected error:"); n < 15 {
		t.Errorf("only %d error cases were checked", n)
	}

	peer.Apply(t, read(t, filepath.Join(dir, "diff")))
	peer.SameState(t, read(t, filepath.Join(dir, "sv")))
	b := peer.Get(t, "py-para")
	if b.Parent != "go-page" || b.Creator != "py-user" || b.Props["done"] != true {
		t.Errorf("py-para in Go = %+v", b)
	}
	if _, ok := b.Props["n"]; ok {
		t.Errorf("py-para.n was removed in Python but is %v in Go", b.Props["n"])
	}
	if rt, ok := b.Props["text"].(engine.RichText); !ok || rt.Text != "from 🐍 Python" {
		t.Errorf("py-para text in Go = %#v", b.Props["text"])
	}
	if kids := peer.Get(t, "go-page").Children; len(kids) != 2 || kids[0] != "py-para" {
		t.Errorf("go-page children in Go = %v", kids)
	}
}

// TestExample runs example.py, the Python example of docs/embedding.md.
func TestExample(t *testing.T) {
	python := bindingtest.Tool(t, "python3")
	bindingtest.Track(t, "octobase.py", "example.py")
	lib := bindingtest.BuildLibrary(t, "c-shared")
	cmd := exec.Command(python, "example.py")
	cmd.Env = append(os.Environ(), "OCTOBASE_LIB="+lib.Path, "PYTHONDONTWRITEBYTECODE=1")
	out := bindingtest.Run(t, cmd)
	if want := "[{'prop.item': 'milk'}]\ncreated\nTodo today\nTrue\n"; out != want {
		t.Errorf("example.py printed %q, want %q", out, want)
	}
}

func TestMain(m *testing.M) { bindingtest.Main(m) }

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
