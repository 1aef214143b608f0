package esdb_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/respool/respool/eventstore"
	"github.com/respool/respool/eventstore/esdb"
	"github.com/respool/respool/eventstore/esdb/esdbtest"
	"github.com/respool/respool/eventstore/storetest"
)

// urlEnv names a real EventStoreDB or KurrentDB to run the kit against, such
// as "esdb://localhost:2113?tls=false" (see the README).
const urlEnv = "RESPOOL_ESDB_URL"

// features are what the kit may expect of this store, on esdbtest and on a
// real server alike.
var features = storetest.Features{
	PreservesMetadata: true,            // carried verbatim in the envelope
	TimePrecision:     time.Nanosecond, // carried as RFC 3339 text
	Slow:              false,
	Timeout:           2 * time.Minute, // the race detector on a busy machine
}

// prefixes hands out stream prefixes that no earlier run used, so that every
// store the kit opens on a shared server is empty.
var prefixes atomic.Int64

func uniquePrefix() string {
	return fmt.Sprintf("kit%d-%d.", time.Now().UnixNano(), prefixes.Add(1))
}

// open opens a store on the server at url with a prefix of its own, so that
// stores on one server share $all but not their streams.
func open(t *testing.T, url string) eventstore.Store {
	t.Helper()
	s, err := esdb.Open(context.Background(), esdb.Config{
		URL:                 url,
		Prefix:              uniquePrefix(),
		ResubscribeDelay:    20 * time.Millisecond,
		MaxResubscribeDelay: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("esdb.Open(%s): %v", url, err)
	}
	return s
}

// TestKitOnEsdbtest runs the kit through the real client, over gRPC, against
// a test server of its own for every store.
func TestKitOnEsdbtest(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return open(t, esdbtest.Start(t).URL())
	}, features)
}

// TestKitOnServer runs the kit against the server that RESPOOL_ESDB_URL names,
// every store with a prefix of its own.
func TestKitOnServer(t *testing.T) {
	url := os.Getenv(urlEnv)
	if url == "" {
		t.Skipf("%s is not set: set it to a connection string such as esdb://localhost:2113?tls=false to run the kit against a real EventStoreDB or KurrentDB", urlEnv)
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store { return open(t, url) }, features)
}
