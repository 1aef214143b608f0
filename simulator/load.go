package simulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/respool/respool/domain"
)

// MaxFileSize is the largest scenario or catalog file read (decision): a
// scenario is written by people; anything larger is a mistake, such as a
// path to the wrong file.
const MaxFileSize = 8 << 20

// MaxSpan is the longest simulation accepted, End - Start (decision).
const MaxSpan = 100 * 366 * 24 * time.Hour

// maxProblems bounds the problems listed for one file: past it, the file is
// probably not a scenario at all.
const maxProblems = 50

// nodeBudget bounds the YAML nodes visited, aliases expanded, so that a
// small file of nested aliases cannot make loading take forever.
const nodeBudget = 1 << 20

// ReadFileFunc reads a file that a scenario names (its catalog). name is as
// written in the scenario.
type ReadFileFunc func(name string) ([]byte, error)

// Load reads and checks the scenario file at path (SPEC section 9). A
// catalog given as a path is read relative to the scenario's directory. A
// file with problems returns a *ScenarioError listing all of them.
func Load(path string) (*Scenario, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &ScenarioError{Problems: []Problem{{File: path, Msg: err.Error()}}}
	}
	dir := filepath.Dir(path)
	return Parse(path, data, func(name string) ([]byte, error) {
		if !filepath.IsAbs(name) {
			name = filepath.Join(dir, name)
		}
		return readFile(name)
	})
}

// readFile reads a regular file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no such file")
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("is a directory, not a scenario file")
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("is larger than %d MiB; is it the right file?", MaxFileSize>>20)
	}
	return data, nil
}

// Parse checks a scenario held in memory. name is the file name used in
// messages; read reads a catalog the scenario names by path (nil: a catalog
// path is a problem). A scenario with problems returns a *ScenarioError
// listing all of them. Parse never panics, whatever data holds.
func Parse(name string, data []byte, read ReadFileFunc) (sc *Scenario, err error) {
	l := &loader{file: name, read: read, budget: nodeBudget, probs: new([]Problem)}
	defer func() {
		if r := recover(); r != nil { // a bug of ours or of the YAML parser: still an answer
			sc, err = nil, &ScenarioError{Problems: []Problem{{File: name, Msg: fmt.Sprintf("cannot be read as YAML (%v)", r)}}}
		}
	}()
	root := l.parseYAML(data, "a scenario")
	if root != nil {
		sc = l.scenario(root)
	}
	if len(*l.probs) > 0 {
		ps := *l.probs
		sortProblems(ps)
		e := &ScenarioError{Problems: ps}
		if len(ps) > maxProblems {
			e.Problems, e.Omitted = ps[:maxProblems], len(ps)-maxProblems
		}
		return nil, e
	}
	return sc, nil
}

type loader struct {
	file   string
	read   ReadFileFunc
	budget int
	probs  *[]Problem // shared with the loader of a catalog file
}

func (l *loader) problem(n *yaml.Node, key, format string, args ...any) {
	p := Problem{File: l.file, Key: key, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	*l.probs = append(*l.probs, p)
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses one YAML document and returns its root mapping, or nil
// after reporting why there is none. what names the expected content.
func (l *loader) parseYAML(data []byte, what string) *yaml.Node {
	if i := bytes.IndexByte(data, 0); i >= 0 || !utf8.Valid(data) {
		l.problem(nil, "", "is not a text file: %s is YAML text (this file holds binary data)", what)
		return nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		l.problem(nil, "", "is empty: %s needs at least %s", what, l.required(what))
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.problem(nil, "", "holds only comments: %s needs at least %s", what, l.required(what))
			return nil
		}
		l.yamlError(err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		l.problem(&next, "", "holds more than one YAML document (---); put %s in a file of its own", what)
	} else if !errors.Is(err, io.EOF) {
		l.yamlError(err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			l.problem(nil, "", "is empty: %s needs at least %s", what, l.required(what))
			return nil
		}
		root = root.Content[0]
	}
	root = l.resolve(root)
	if root == nil {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		l.problem(root, "", "is not %s: want a mapping of keys (%s), found %s", what, l.required(what), describe(root))
		return nil
	}
	return root
}

func (l *loader) required(what string) string {
	if what == "a catalog" {
		return "currency and flavors"
	}
	return "name, start, end, catalog, accounts and pools"
}

func (l *loader) yamlError(err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		l.problem(&yaml.Node{Line: n}, "", "not valid YAML: %s", m[2])
		return
	}
	l.problem(nil, "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// resolve follows aliases and spends the node budget. It returns nil once
// the budget is spent (after reporting it once).
func (l *loader) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	l.budget--
	if l.budget == 0 {
		l.problem(n, "", "too many YAML nodes once aliases are expanded (more than %d); write the file out without nested aliases", nodeBudget)
	}
	if l.budget <= 0 {
		return nil
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "nothing"
		}
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	}
	return "something else"
}

// mapping is a checked YAML mapping: known keys only, each once.
type mapping struct {
	node *yaml.Node
	path string
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
	// misspelt are known keys that an unknown key was taken for: their
	// absence is already reported.
	misspelt map[string]bool
}

func (m *mapping) has(k string) bool { return m.vals[k] != nil }

// mapping checks that n is a mapping whose keys are among known, each given
// once, and reports every other key with a suggestion. It returns nil if n
// is not a mapping.
func (l *loader) mapping(n *yaml.Node, path, what string, known []string) *mapping {
	n = l.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.problem(n, path, "want %s (a mapping of keys: %s), found %s", what, strings.Join(known, ", "), describe(n))
		return nil
	}
	m := &mapping{node: n, path: path, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := l.resolve(n.Content[i]), l.resolve(n.Content[i+1])
		if kn == nil || vn == nil {
			return nil
		}
		if kn.Kind != yaml.ScalarNode {
			l.problem(kn, path, "a key must be a plain word, found %s", describe(kn))
			continue
		}
		k := kn.Value
		if k == "<<" {
			l.problem(kn, join(path, k), "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if !contains(known, k) {
			if s, ok := closest(k, known); ok {
				if m.misspelt == nil {
					m.misspelt = map[string]bool{}
				}
				m.misspelt[s] = true
			}
			l.problem(kn, join(path, k), "unknown key%s; %s takes: %s", suggest(k, known), what, strings.Join(known, ", "))
			continue
		}
		if prev := m.keys[k]; prev != nil {
			l.problem(kn, join(path, k), "given twice (first at line %d); keep one", prev.Line)
			continue
		}
		m.keys[k], m.vals[k] = kn, vn
	}
	return m
}

// need reports the keys of required that m lacks.
func (l *loader) need(m *mapping, what string, required ...string) bool {
	ok := true
	for _, k := range required {
		if !m.has(k) && !m.misspelt[k] {
			hint := ""
			if h, ok := keyHints[k]; ok {
				hint = ": " + h
			}
			l.problem(m.node, m.path, "%s needs %q%s", what, k, hint)
		}
		if !m.has(k) {
			ok = false
		}
	}
	return ok
}

// keyHints say what a required key holds, for the message of its absence.
var keyHints = map[string]string{
	"name":     "a title, such as name: training pool for a year",
	"start":    "when the simulation starts, such as start: 2026-01-01T00:00:00+08:00",
	"end":      "when it ends, such as end: 2027-01-01T00:00:00+08:00",
	"catalog":  "the rate card, inline or as a path such as catalog: catalog.yaml",
	"accounts": "the accounts, such as accounts: [{id: acme}]",
	"pools":    "the pools the scenario buys (see examples/scenarios/)",
	"currency": "such as currency: CNY",
	"flavors":  "the flavors sold, each with id, kind, hourly, monthly and regions",
	"kind":     "cpu or gpu",
	"hourly":   "the pay-per-use price per node per hour, such as hourly: \"12.50\"",
	"monthly":  "the prepaid price per node per month, such as monthly: \"6200\"",
	"regions":  "the regions that sell it, such as regions: [cn-north-4]",
	"account":  "the account acting, one of accounts",
	"type":     "training or deployment",
	"billing":  "pay-per-use or prepaid",
	"flavor":   "a flavor id of the catalog",
	"region":   "such as region: cn-north-4",
	"nodes":    "how many nodes, such as nodes: 4",
	"at":       "when, such as at: 2026-03-01T00:00:00+08:00",
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// scalar returns n's text if n is a scalar with a value.
func (l *loader) scalar(n *yaml.Node, path, want string) (string, bool) {
	n = l.resolve(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode {
		l.problem(n, path, "want %s, found %s", want, describe(n))
		return "", false
	}
	if n.ShortTag() == "!!null" {
		l.problem(n, path, "has no value; give %s or remove the key", want)
		return "", false
	}
	return n.Value, true
}

func (l *loader) str(n *yaml.Node, path, want string) (string, bool) {
	return l.scalar(n, path, want)
}

// id reads an account, pool or flavor id (domain.ValidID).
func (l *loader) id(n *yaml.Node, path, what string) (string, bool) {
	s, ok := l.scalar(n, path, what)
	if !ok {
		return "", false
	}
	if !domain.ValidID(s) {
		l.problem(n, path, "%q is not a valid %s: use 1 to %d letters, digits, '-', '_', '.' or ':'", s, what, domain.MaxIDLen)
		return "", false
	}
	return s, true
}

func (l *loader) integer(n *yaml.Node, path, want string) (int, bool) {
	s, ok := l.scalar(n, path, want)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		l.problem(n, path, "%q is not %s", s, want)
		return 0, false
	}
	return int(v), true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := l.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	l.problem(n, path, "%q: want true or false", s)
	return false, false
}

func (l *loader) money(n *yaml.Node, path string) (domain.Money, bool) {
	s, ok := l.scalar(n, path, `an amount such as "12.50"`)
	if !ok {
		return domain.Money{}, false
	}
	m, err := domain.ParseMoney(strings.TrimSpace(s))
	if err != nil {
		why := "want a decimal amount such as \"12.50\""
		if strings.HasPrefix(strings.TrimSpace(s), "-") {
			why = "an amount cannot be negative"
		}
		l.problem(n, path, "%q is not an amount: %s", s, why)
		return domain.Money{}, false
	}
	return m, true
}

const timeExample = "2026-01-01T00:00:00+08:00"

func (l *loader) instant(n *yaml.Node, path string) (time.Time, bool) {
	s, ok := l.scalar(n, path, "a time such as "+timeExample)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err == nil {
		return t, true
	}
	s2 := strings.Replace(s, " ", "T", 1)
	switch {
	case parses("2006-01-02T15:04:05", s2), parses("2006-01-02T15:04", s2):
		l.problem(n, path, "%q has no offset, so it could be any zone; add one: %s+08:00 (RFC 3339)", s, s2)
	case parses("2006-01-02", s):
		l.problem(n, path, "%q is a date without a time; write %sT00:00:00+08:00 (RFC 3339, with an offset)", s, s)
	case parses(time.RFC3339, s2):
		l.problem(n, path, "%q: separate the date and the time with T: %s (RFC 3339)", s, s2)
	default:
		l.problem(n, path, "%q is not a time: want RFC 3339 with an offset, such as %s", s, timeExample)
	}
	return time.Time{}, false
}

func parses(layout, s string) bool {
	_, err := time.Parse(layout, s)
	return err == nil
}

func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := l.scalar(n, path, "a duration such as 1h")
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		l.problem(n, path, "%v", err)
		return 0, false
	}
	return d, true
}

// ParseDuration reads a Go duration ("90m", "1h30m") with an optional whole
// number of days in front ("1d", "7d", "1d12h"); a day is 24 hours. It
// accepts only durations greater than zero.
func ParseDuration(s string) (time.Duration, error) {
	rest, days := s, int64(0)
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 || n > 366*200 {
			return 0, fmt.Errorf("%q is not a duration: want a Go duration such as 1h or 15m, or days such as 1d", s)
		}
		days, rest = n, s[i+1:]
	}
	d := time.Duration(days) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration: want a Go duration such as 1h or 15m, or days such as 1d", s)
		}
		d += r
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: want a duration greater than zero, such as 1h", s)
	}
	return d, nil
}

// ParseZone reads a billing zone: a fixed offset such as "+08:00" or
// "-05:30", or "UTC". Zones with daylight saving are not accepted: a billing
// calendar needs fixed days.
func ParseZone(s string) (*time.Location, error) {
	switch s {
	case "UTC", "Z", "+00:00", "-00:00":
		return time.FixedZone("UTC", 0), nil
	}
	if len(s) == 6 && (s[0] == '+' || s[0] == '-') && s[3] == ':' {
		h, err1 := strconv.Atoi(s[1:3])
		m, err2 := strconv.Atoi(s[4:6])
		if err1 == nil && err2 == nil && h <= 14 && m < 60 {
			off := h*3600 + m*60
			if s[0] == '-' {
				off = -off
			}
			return time.FixedZone("UTC"+s, off), nil
		}
	}
	return nil, fmt.Errorf("%q is not a zone: want a fixed offset such as \"+08:00\" (quoted), or \"UTC\"", s)
}

// seq returns the items of a list, and false if n is not a list.
func (l *loader) seq(n *yaml.Node, path, want string) ([]*yaml.Node, bool) {
	n = l.resolve(n)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.SequenceNode {
		l.problem(n, path, "want %s, found %s", want, describe(n))
		return nil, false
	}
	return n.Content, true
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
