package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// The problems Open reports, matched with errors.Is.
var (
	// ErrConnString: Config.ConnString cannot be parsed.
	ErrConnString = errors.New("eventstore/postgres: invalid connection string")
	// ErrConnect: the server cannot be reached or refused the connection
	// (wrong host or port, unknown database, failed authentication).
	ErrConnect = errors.New("eventstore/postgres: cannot connect")
	// ErrSchemaVersion: the schema holds a respool event store of a version
	// this package does not read ([SchemaVersion]).
	ErrSchemaVersion = errors.New("eventstore/postgres: unsupported schema version")
	// ErrForeign: the schema holds tables with respool's names that respool
	// did not create (a respool_events table without respool_schema, or a
	// respool_schema table that cannot be read).
	ErrForeign = errors.New("eventstore/postgres: schema holds tables respool did not create")
	// ErrIncomplete: the schema holds a respool store with a part missing
	// (a table, the function respool_append, the version row).
	ErrIncomplete = errors.New("eventstore/postgres: respool schema is incomplete")
)

// OpenError explains why [Open] failed. It matches its Problem (one of
// [ErrConnString], [ErrConnect], [ErrSchemaVersion], [ErrForeign],
// [ErrIncomplete]) and its
// Err with errors.Is and errors.As. It never holds a password.
type OpenError struct {
	Schema  string // the schema Open was to use
	Problem error  // what is wrong, one of the package's Err values
	Detail  string // what was found, for people
	Err     error  // the error of pgx or of the server behind it, if any
}

func (e *OpenError) Error() string {
	s := "eventstore/postgres: open schema " + quoteSchema(e.Schema) + ": " + strings.TrimPrefix(e.Problem.Error(), "eventstore/postgres: ")
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

func quoteSchema(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// sqlState returns the SQLSTATE of a server error, or "".
func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// lostConnection reports whether err means the connection to the server
// was lost or could not be made, so that the same read can be tried again
// on another connection.
func lostConnection(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch code := sqlState(err); {
	case code == "":
	case strings.HasPrefix(code, "08"), // connection exception
		code == "57P01", // admin_shutdown (pg_terminate_backend)
		code == "57P02", // crash_shutdown
		code == "57P03", // cannot_connect_now (starting up)
		code == "53300": // too_many_connections
		return true
	default:
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// invalidInput reports server errors that mean the caller's values cannot
// be stored: text that is not valid UTF-8 or holds NUL, a time out of range.
func invalidInput(err error) bool {
	switch sqlState(err) {
	case "22021", // character_not_in_repertoire (invalid UTF-8, NUL)
		"22P05", // untranslatable_character
		"22008": // datetime_field_overflow
		return true
	}
	return false
}

// versionTaken reports whether err is a unique violation of (stream,
// version): a writer that bypassed respool_append's lock took the version.
func versionTaken(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "respool_events_stream_version"
}
