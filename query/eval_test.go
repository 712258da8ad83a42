package query

import "testing"

func TestLikeMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"%", "", true}, {"%", "abc", true},
		{"a%", "abc", true}, {"%c", "abc", true}, {"%b%", "abc", true}, {"a_c", "abc", true},
		{"a_c", "ac", false}, {"_", "日", true}, {"__", "日", false}, {`a\%`, "a%", true},
		{`a\%`, "ab", false}, {`\_`, "_", true}, {`\_`, "a", false}, {`100\%`, "100%", true},
		{"%a%a%a%a%a%b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"a%%b", "ab", true}, {"A%", "abc", false}, {`\\`, `\`, true}, {"%_", "", false},
	} {
		if got := likeMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("likeMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}
