package bindings_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestEmbeddingDoc checks that every file docs/embedding.md quotes (a
// "<!-- file: path -->" line followed by a fenced block) is quoted verbatim,
// and that each example is quoted.
func TestEmbeddingDoc(t *testing.T) {
	root := filepath.Join("..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "embedding.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- file: (\\S+) -->\n```\\w*\n(.*?)```\n")
	quoted := map[string]bool{}
	for _, m := range re.FindAllSubmatch(doc, -1) {
		path := string(m[1])
		quoted[path] = true
		src, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			t.Errorf("docs/embedding.md quotes %s: %v", path, err)
			continue
		}
		if string(src) != string(m[2]) {
			t.Errorf("docs/embedding.md quotes %s, but the file differs: update the document", path)
		}
	}
	for _, p := range []string{"bindings/example_test.go", "bindings/c/example.c", "bindings/python/example.py", "bindings/js/example.cjs"} {
		if !quoted[p] {
			t.Errorf("docs/embedding.md does not quote %s", p)
		}
	}
}
