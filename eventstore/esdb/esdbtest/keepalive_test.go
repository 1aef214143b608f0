package esdbtest_test

import (
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"

	"github.com/respool/respool/eventstore/esdb/esdbtest"
)

// pingsGetGoAway opens an HTTP/2 connection to addr with no call on it,
// sends n pings every interval, and reports whether the server answered with
// GOAWAY, as a gRPC server does to a client that pings more often than its
// keepalive policy permits.
func pingsGetGoAway(t *testing.T, addr string, n int, every time.Duration) bool {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	w := http2.NewFramer(conn, nil)
	if err := w.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	goAway := make(chan struct{})
	acks := make(chan struct{}, 1)
	go func() {
		r := http2.NewFramer(nil, conn)
		for {
			f, err := r.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					select {
					case acks <- struct{}{}:
					default:
					}
				}
			case *http2.GoAwayFrame:
				close(goAway)
				return
			}
		}
	}()
	<-acks
	if err := w.WriteSettingsAck(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.WritePing(false, [8]byte{byte(i)}); err != nil {
			return true // the server closed the connection
		}
		select {
		case <-goAway:
			return true
		case <-time.After(every):
		}
	}
	select {
	case <-goAway:
		return true
	case <-time.After(200 * time.Millisecond):
		return false
	}
}

// The client pings every 10 s, with or without a call open. The double must
// accept that (and more), or every subscription would drop after about 30 s.
func TestKeepaliveAcceptsClientPings(t *testing.T) {
	t.Parallel()
	srv := esdbtest.Start(t)
	if pingsGetGoAway(t, srv.Addr(), 4, esdbtest.KeepaliveMinTime+200*time.Millisecond) {
		t.Errorf("the server sent GOAWAY to a client pinging every %v", esdbtest.KeepaliveMinTime+200*time.Millisecond)
	}
}

// The same pings get GOAWAY from a gRPC server with the default policy: the
// check above can fail.
func TestKeepaliveCheckSeesDefaultPolicy(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	if !pingsGetGoAway(t, lis.Addr().String(), 4, esdbtest.KeepaliveMinTime+200*time.Millisecond) {
		t.Error("a default gRPC server did not send GOAWAY: the keepalive check cannot tell")
	}
}
