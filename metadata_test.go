package respool

import (
	"strconv"
	"testing"
)

// FuzzAppendQuoted checks the fast path for plain ids against
// strconv.AppendQuote, which it must match byte for byte.
func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "acme", "create-p0/undo", `a"b`, `a\b`, "é", "\x00", "~", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendQuoted([]byte("x"), s)), string(strconv.AppendQuote([]byte("x"), s)); got != want {
			t.Fatalf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
	})
}
