package sqlite

import (
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The problems Open reports about a file, matched with errors.Is. Open never
// changes a file it refuses: it reads the file's header and table list before
// it writes anything.
var (
	// ErrNotDatabase: the file is not an SQLite database at all (random
	// bytes, a file of another format, or a database whose header is
	// destroyed).
	ErrNotDatabase = errors.New("eventstore/sqlite: file is not an SQLite database")
	// ErrCorrupt: the file is an SQLite database, but damaged, or holds an
	// incomplete or malformed respool schema.
	ErrCorrupt = errors.New("eventstore/sqlite: database is corrupt")
	// ErrForeign: the file is a valid SQLite database that belongs to
	// another application (it has tables but no respool schema, or another
	// application id in its header).
	ErrForeign = errors.New("eventstore/sqlite: database belongs to another application")
	// ErrSchemaVersion: the file holds a respool event store of a schema
	// version this package does not read ([SchemaVersion]).
	ErrSchemaVersion = errors.New("eventstore/sqlite: unsupported schema version")
)

// OpenError explains why [Open] refused a file. It matches its Problem (one
// of [ErrNotDatabase], [ErrCorrupt], [ErrForeign], [ErrSchemaVersion]) and
// its Err with errors.Is and errors.As.
type OpenError struct {
	Path    string // the file, as an absolute path
	Problem error  // what is wrong, one of the package's Err values
	Detail  string // what was found, for people: the tables, the version
	Err     error  // the SQLite error behind it, if any
}

func (e *OpenError) Error() string {
	s := "eventstore/sqlite: open " + e.Path + ": " + trimPrefix(e.Problem.Error())
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Problem and Err.
func (e *OpenError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Problem}
	}
	return []error{e.Problem, e.Err}
}

func trimPrefix(s string) string {
	const p = "eventstore/sqlite: "
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

// sqliteCode returns the primary SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	return 0
}

// classifyOpen turns an SQLite error met while inspecting a file into an
// OpenError when it says what is wrong with the file.
func classifyOpen(path string, err error) error {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_NOTADB:
		return &OpenError{Path: path, Problem: ErrNotDatabase, Err: err}
	case sqlite3.SQLITE_CORRUPT:
		return &OpenError{Path: path, Problem: ErrCorrupt, Err: err}
	}
	return nil
}
