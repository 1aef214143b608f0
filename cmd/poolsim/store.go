package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/respool/respool/eventstore/sqlite"
	"github.com/respool/respool/simulator"
)

// storeSpec is the value of run's --store: where the run's event log goes.
type storeSpec struct {
	sqlite string // the SQLite file; "" for memory (nothing kept)
}

func parseStore(s string) (storeSpec, error) {
	kind, arg, _ := strings.Cut(s, ":")
	switch strings.ToLower(kind) {
	case "memory", "mem":
		if arg != "" {
			return storeSpec{}, fmt.Errorf("%q: memory takes no argument", s)
		}
		return storeSpec{}, nil
	case "sqlite":
		if arg == "" {
			return storeSpec{}, fmt.Errorf("%q: give the file, as in sqlite:run.db", s)
		}
		return storeSpec{sqlite: arg}, nil
	case "postgres", "postgresql":
		return storeSpec{}, fmt.Errorf("%q: poolsim keeps logs in memory or in an SQLite file only (use respool's eventstore/postgres from Go for PostgreSQL)", s)
	}
	return storeSpec{}, fmt.Errorf("%q: want memory or sqlite:FILE", s)
}

// keptLog is the SQLite file a run keeps its log in. The run writes to a
// temporary file beside the target, which replaces the target only once
// the run has succeeded and the file is closed: a failed or interrupted
// run leaves the target as it was.
type keptLog struct {
	target, tmp string
	store       *sqlite.Store
}

// createLog checks that path may receive a run's log and opens a
// temporary store beside it. A file that does not exist, an empty file
// and an empty respool store may; a poolsim log only with overwrite;
// anything else never (poolsim does not replace what it did not write).
func createLog(ctx context.Context, path string, overwrite bool) (*keptLog, error) {
	if err := checkTarget(ctx, path, overwrite); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("cannot write the log %s: %v", path, err)
	}
	tmp := f.Name()
	f.Close()
	// Each append need not reach the disk before the next: the file is
	// renamed into place only after Close has written everything.
	s, err := sqlite.Open(ctx, sqlite.Config{Path: tmp, Sync: sqlite.SyncNormal})
	if err != nil {
		removeDB(tmp)
		return nil, err
	}
	return &keptLog{target: path, tmp: tmp, store: s}, nil
}

// commit closes the store and puts the file in place.
func (k *keptLog) commit() error {
	if err := k.store.Close(); err != nil {
		removeDB(k.tmp)
		return err
	}
	if _, err := os.Stat(k.tmp + "-wal"); err == nil {
		removeDB(k.tmp)
		return fmt.Errorf("the log's write-ahead file was not folded into %s at close", k.tmp)
	}
	if err := os.Chmod(k.tmp, 0o644); err != nil {
		removeDB(k.tmp)
		return err
	}
	if err := os.Rename(k.tmp, k.target); err != nil {
		removeDB(k.tmp)
		return err
	}
	return nil
}

// abort closes the store and removes the temporary file.
func (k *keptLog) abort() {
	k.store.Close()
	removeDB(k.tmp)
}

// removeDB removes an SQLite file and its companions.
func removeDB(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		os.Remove(p)
	}
}

// errRefused is a target file that run will not write to.
type errRefused struct{ msg string }

func (e *errRefused) Error() string { return e.msg }

func checkTarget(ctx context.Context, path string, overwrite bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case st.IsDir():
		return &errRefused{fmt.Sprintf("%s is a directory; give a file for the log", path)}
	case !st.Mode().IsRegular():
		return &errRefused{fmt.Sprintf("%s is not a regular file", path)}
	case st.Size() == 0:
		return nil
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		var oe *sqlite.OpenError
		if errors.As(err, &oe) {
			return &errRefused{fmt.Sprintf("%s is not a poolsim log (%s); poolsim keeps a log only in a new file, an empty one, or one of its own logs: choose another file", path, openProblem(err))}
		}
		return err
	}
	info, infoErr := simulator.ReadLogInfo(ctx, s)
	head, headErr := s.Head(ctx)
	if err := s.Close(); err != nil {
		return err
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		return &errRefused{fmt.Sprintf("%s is open in another process (%s-wal exists); close it first", path, path)}
	}
	switch {
	case headErr != nil:
		return headErr
	case infoErr == nil:
		if !overwrite {
			return &errRefused{fmt.Sprintf("%s already holds a run (scenario %q, %d variants); give --overwrite to replace it, or choose another file", path, info.Scenario, len(info.Variants))}
		}
		return nil
	case errors.Is(infoErr, simulator.ErrNotLog) && head == 0:
		return nil // an empty store
	case errors.Is(infoErr, simulator.ErrNotLog):
		return &errRefused{fmt.Sprintf("%s is a respool event store holding %d events that are not a poolsim run; poolsim does not replace it: choose another file", path, head)}
	case errors.Is(infoErr, simulator.ErrLogVersion), errors.Is(infoErr, simulator.ErrLogCorrupt):
		if !overwrite {
			return &errRefused{fmt.Sprintf("%s already holds a run (%v); give --overwrite to replace it, or choose another file", path, infoErr)}
		}
		return nil
	}
	return infoErr
}

// openProblem says in a few words why sqlite.Open refused a file.
func openProblem(err error) string {
	switch {
	case errors.Is(err, sqlite.ErrNotDatabase):
		return "it is not an SQLite database"
	case errors.Is(err, sqlite.ErrCorrupt):
		return "it is a damaged SQLite database"
	case errors.Is(err, sqlite.ErrForeign):
		return "it is another application's SQLite database"
	case errors.Is(err, sqlite.ErrSchemaVersion):
		return "it is a respool store of another schema version"
	}
	return err.Error()
}

// damaged reports whether err is SQLite finding a damaged file.
func damaged(err error) bool {
	var se *msqlite.Error
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqlite3.SQLITE_CORRUPT || code == sqlite3.SQLITE_NOTADB
	}
	return false
}

// openLog opens a kept log for replay. It never creates the file.
func openLog(ctx context.Context, path string) (*sqlite.Store, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("%s: no such file", path)
	case err != nil:
		return nil, err
	case st.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a poolsim log", path)
	case st.Size() == 0:
		return nil, fmt.Errorf("%s is not a poolsim log: the file is empty", path)
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		var oe *sqlite.OpenError
		if errors.As(err, &oe) {
			if errors.Is(err, sqlite.ErrCorrupt) {
				return nil, fmt.Errorf("%s is corrupt: %v", path, err)
			}
			return nil, fmt.Errorf("%s is not a poolsim log: %s", path, openProblem(err))
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return s, nil
}

// replayError says why a log could not be replayed.
func replayError(path string, err error) string {
	switch {
	case errors.Is(err, simulator.ErrNotLog):
		return fmt.Sprintf("%s is not a poolsim log: it holds no simulation run (a respool event store without the %s stream)", path, simulator.LogStream)
	case errors.Is(err, simulator.ErrLogUnfinished):
		return fmt.Sprintf("%s holds a run that did not finish, so there is no report to rebuild: %v", path, err)
	case errors.Is(err, simulator.ErrLogVersion):
		return fmt.Sprintf("%s was written by another version of poolsim: %v", path, err)
	case errors.Is(err, simulator.ErrLogCorrupt), damaged(err):
		return fmt.Sprintf("%s is corrupt: %v", path, err)
	}
	return fmt.Sprintf("%s: cannot replay: %v", path, err)
}
