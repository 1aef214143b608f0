package wm

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/respool/respool/eventstore"
)

// Metadata keys of the messages the Dispatcher publishes. The message's
// UUID is the event's stable id; its payload is the event's payload as the
// store holds it (the codec's JSON).
const (
	KeyPosition = "respool-position" // global position, decimal
	KeyStream   = "respool-stream"   // stream name
	KeyVersion  = "respool-version"  // version within the stream, decimal
	KeyType     = "respool-type"     // stable event type name, such as pool.created
	KeyTime     = "respool-time"     // when the event happened, RFC 3339 with nanoseconds, UTC
	KeyMetadata = "respool-metadata" // the event's metadata bytes as the store holds them (JSON), if any
)

// Metadata keys the Consumer sets on a message it sends to the poison topic.
const (
	KeyPoisonReason   = "respool-poison-reason"   // why the message could not be read
	KeyPoisonConsumer = "respool-poison-consumer" // the Consumer's name
)

// ErrUndecodable is wrapped by the errors of RecordOf and by the Consumer's
// errors for a message that can never be applied: its metadata does not
// name a position, stream, version and type, or its payload is not an event
// the codec reads. Such messages, and only they, go to the poison topic.
var ErrUndecodable = errors.New("wm: message is not a respool event")

// Message returns the message the Dispatcher publishes for rec.
//
// Its UUID is rec.ID, the event's stable id, so a broker that deduplicates
// by message id (JetStream with TrackMsgId) drops a republished event. An
// event without an id (eventstore.Memory does not require one) gets
// "respool-position-N", stable for that log.
func Message(rec eventstore.Record) *message.Message {
	id := rec.ID
	if id == "" {
		id = "respool-position-" + strconv.FormatUint(uint64(rec.Position), 10)
	}
	m := message.NewMessage(id, message.Payload(rec.Data))
	m.Metadata = message.Metadata{
		KeyPosition: strconv.FormatUint(uint64(rec.Position), 10),
		KeyStream:   rec.Stream,
		KeyVersion:  strconv.FormatUint(uint64(rec.Version), 10),
		KeyType:     rec.Type,
		KeyTime:     rec.Time.UTC().Format(time.RFC3339Nano),
	}
	if len(rec.Metadata) > 0 {
		m.Metadata[KeyMetadata] = string(rec.Metadata)
	}
	return m
}

// RecordOf reads back the record a message carries. A message without a
// valid position, stream, version or type is an error wrapping
// ErrUndecodable; the payload is not decoded here.
func RecordOf(m *message.Message) (eventstore.Record, error) {
	bad := func(format string, args ...any) (eventstore.Record, error) {
		return eventstore.Record{}, fmt.Errorf("%w: message %s: %s", ErrUndecodable, m.UUID, fmt.Sprintf(format, args...))
	}
	pos, err := strconv.ParseUint(m.Metadata.Get(KeyPosition), 10, 64)
	if err != nil || pos == 0 {
		return bad("metadata %s = %q: want a position from 1", KeyPosition, m.Metadata.Get(KeyPosition))
	}
	ver, err := strconv.ParseUint(m.Metadata.Get(KeyVersion), 10, 64)
	if err != nil || ver == 0 {
		return bad("metadata %s = %q: want a version from 1", KeyVersion, m.Metadata.Get(KeyVersion))
	}
	stream, typ := m.Metadata.Get(KeyStream), m.Metadata.Get(KeyType)
	if stream == "" || typ == "" {
		return bad("metadata %s and %s are required", KeyStream, KeyType)
	}
	rec := eventstore.Record{Stream: stream, Version: eventstore.Version(ver), Position: eventstore.Position(pos),
		Event: eventstore.Event{ID: m.UUID, Type: typ, Data: m.Payload}}
	if s := m.Metadata.Get(KeyTime); s != "" {
		if rec.Time, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return bad("metadata %s = %q: %v", KeyTime, s, err)
		}
	}
	if s := m.Metadata.Get(KeyMetadata); s != "" {
		rec.Metadata = []byte(s)
	}
	return rec, nil
}
