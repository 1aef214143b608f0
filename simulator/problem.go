package simulator

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a scenario (or catalog) file: where it is
// and what would fix it.
type Problem struct {
	File   string // the file it is in
	Line   int    // from 1; 0 when the problem is the whole file
	Column int    // from 1; 0 if not known
	Key    string // the key's path, such as pools[0].flavor; empty for the file
	Msg    string // what is wrong and how to fix it
}

// String formats the problem the way compilers do:
// "train.yaml:12:5: pools[0].flavor: ...".
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ScenarioError is the error of Load and Parse: every problem found in the
// file, in file and line order. A scenario with any problem is not run at
// all, so no partial report is ever made from it.
type ScenarioError struct {
	Problems []Problem
	// Omitted counts the problems left out of Problems: past 50, a file is
	// probably not a scenario at all.
	Omitted int
}

// Error lists the problems, one per line.
func (e *ScenarioError) Error() string {
	lines := make([]string, len(e.Problems), len(e.Problems)+1)
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	if e.Omitted > 0 {
		lines = append(lines, fmt.Sprintf("... and %d more problems", e.Omitted))
	}
	return strings.Join(lines, "\n")
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// suggest returns ` (did you mean "x"?)` for the candidate closest to word,
// or "" if none is close.
func suggest(word string, candidates []string) string {
	if best, ok := closest(word, candidates); ok {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest returns the candidate closest to word, if one is close enough to
// be a misspelling of it.
func closest(word string, candidates []string) (string, bool) {
	best, bestD := "", 1<<30
	lw := strings.ToLower(word)
	for _, c := range candidates {
		d := editDistance(lw, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := max(1, min(3, len(word)/3))
	if best == "" || bestD > limit || best == word {
		return "", false
	}
	return best, true
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // not a misspelling; keep it cheap
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
