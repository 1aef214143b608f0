package wm

import "github.com/nats-io/nats.go"

// ConnStatus is the status of the subscriber's own connection, for tests.
func (s *Subscriber) ConnStatus() nats.Status { return s.nc.Status() }
