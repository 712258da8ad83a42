package bindingtest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrototypes(t *testing.T) {
	dir := t.TempDir()
	hand := filepath.Join(dir, "hand.h")
	gen := filepath.Join(dir, "gen.h")
	os.WriteFile(hand, []byte(`/* int32_t octobase_commented(void); */
int32_t octobase_abi_version(void);
/* doc */
int32_t octobase_store_open(const char *dir, const char *options_json,
                            int64_t *out_store, char **err);
int32_t octobase_free(void *buf, char **err);
`), 0o644)
	os.WriteFile(gen, []byte(`extern int32_t octobase_abi_version(void);
extern int32_t octobase_store_open(char* dir, char* opts, int64_t* out, char** errp);
extern int32_t octobase_free(void* buf, char** errp);
`), 0o644)
	a, b := prototypes(t, hand), prototypes(t, gen)
	want := map[string]string{
		"octobase_abi_version": "void",
		"octobase_store_open":  "char*,char*,int64_t*,char**",
		"octobase_free":        "void*,char**",
	}
	for name, w := range want {
		if a[name] != w || b[name] != w {
			t.Errorf("%s: hand-written %q, generated %q, want %q", name, a[name], b[name], w)
		}
	}
	if len(a) != 3 || len(b) != 3 {
		t.Errorf("parsed %v and %v", a, b)
	}
}
