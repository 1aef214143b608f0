package esdbtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Version is the EventStoreDB server version the double reports through
// ServerFeatures: the protocol it speaks is the one of the 24.x servers that
// EventStore-Client-Go v4 targets.
const Version = "24.10.0"

// KeepaliveMinTime is the shortest interval between HTTP/2 pings the double
// accepts from a client, with or without open calls. The client pings every
// 10 s by default; gRPC's own default (5 min) would make the server answer
// those pings with GOAWAY "too_many_pings" and drop every subscription after
// about 30 s.
const KeepaliveMinTime = 500 * time.Millisecond

// Config sets up a Server. The zero value means the defaults.
type Config struct {
	// Now stamps the "created" system metadata of appended events (the
	// client needs it on every event it reads). Nil means time.Now.
	Now func() time.Time
	// FirstPosition is the $all position of the first event. Zero means 128,
	// so that positions never start at 0 and are never event counts, as on a
	// real server whose log starts with its own records.
	FirstPosition uint64
}

// Server is an in-process gRPC server that speaks the EventStoreDB streams
// protocol. Its data lives in memory and survives Stop and Restart, as a real
// node's data survives a restart. All methods are safe for concurrent use.
type Server struct {
	now  func() time.Time
	addr string // host:port, fixed by the first listen

	mu      sync.Mutex // guards the data below
	log     []*record  // $all, in position order
	streams map[string][]*record
	nextPos uint64
	changed chan struct{} // closed and replaced on every append
	drop    chan struct{} // closed and replaced by DropSubscriptions

	life    sync.Mutex // guards the serving state below
	grpc    *grpc.Server
	serving chan struct{} // closed when the current Serve returns
}

// record is one stored event. Records are immutable once in the log.
type record struct {
	stream      string
	revision    uint64
	position    uint64 // commit and prepare position: one event per commit
	id          uuid.UUID
	eventType   string
	contentType string
	created     int64 // .NET ticks (100 ns) since the Unix epoch
	data        []byte
	metadata    []byte
}

// NewServer listens on addr ("127.0.0.1:0" picks a free port) and serves the
// streams protocol in the background until Stop.
func NewServer(addr string, cfg Config) (*Server, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	first := cfg.FirstPosition
	if first == 0 {
		first = 128
	}
	s := &Server{
		now:     now,
		streams: make(map[string][]*record),
		nextPos: first,
		changed: make(chan struct{}),
		drop:    make(chan struct{}),
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("esdbtest: listen on %s: %w", addr, err)
	}
	s.addr = lis.Addr().String()
	s.serve(lis)
	return s, nil
}

// Start starts a Server on a free local port and stops it when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := NewServer("127.0.0.1:0", Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Addr returns the host:port the server listens on. It does not change across
// Stop and Restart.
func (s *Server) Addr() string { return s.addr }

// URL returns a connection string for EventStore-Client-Go that reaches the
// server: plain text (tls=false: the double has no certificates) and a short
// discovery interval, so that a client reconnects quickly after Restart.
func (s *Server) URL() string {
	return "esdb://" + s.addr + "?tls=false&discoveryInterval=20&maxDiscoverAttempts=10"
}

// Stop stops serving at once: the listener closes and every open connection
// drops, so running calls and subscriptions fail on the client side as they do
// when a node goes down. The data is kept. Stop is idempotent.
func (s *Server) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	if s.grpc == nil {
		return
	}
	s.grpc.Stop()
	<-s.serving
	s.grpc = nil
}

// Restart serves again on the same address with the same data, as a node
// that comes back after Stop. It fails if the server is running or the
// address cannot be listened on.
func (s *Server) Restart() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.grpc != nil {
		return errors.New("esdbtest: restart: server is running")
	}
	var lis net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; give the kernel a moment
		lis, err = net.Listen("tcp", s.addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("esdbtest: restart on %s: %w", s.addr, err)
	}
	s.serveLocked(lis)
	return nil
}

// DropSubscriptions ends every running subscription with an Unavailable
// error, without closing connections: a server-side drop, as when a node
// gives up on a slow subscriber. Reads and appends are not affected.
func (s *Server) DropSubscriptions() {
	s.mu.Lock()
	close(s.drop)
	s.drop = make(chan struct{})
	s.mu.Unlock()
}

// Len returns the number of events in $all.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

func (s *Server) serve(lis net.Listener) {
	s.life.Lock()
	defer s.life.Unlock()
	s.serveLocked(lis)
}

func (s *Server) serveLocked(lis net.Listener) {
	g := grpc.NewServer(
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
	)
	streams.RegisterStreamsServer(g, &streamsService{s: s})
	serverfeatures.RegisterServerFeaturesServer(g, &featuresService{})
	done := make(chan struct{})
	s.grpc = g
	s.serving = done
	go func() {
		defer close(done)
		_ = g.Serve(lis) // returns when Stop closes the listener
	}()
}

// featuresService answers the client's connect-time question about what the
// server supports: reads and appends only.
type featuresService struct {
	serverfeatures.UnimplementedServerFeaturesServer
}

func (featuresService) GetSupportedMethods(context.Context, *shared.Empty) (*serverfeatures.SupportedMethods, error) {
	const svc = "event_store.client.streams.streams"
	return &serverfeatures.SupportedMethods{
		EventStoreServerVersion: Version,
		Methods: []*serverfeatures.SupportedMethod{
			{ServiceName: svc, MethodName: "read"},
			{ServiceName: svc, MethodName: "append"},
		},
	}, nil
}
