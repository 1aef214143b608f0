package esdb

import (
	"bytes"
	"testing"
	"time"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/respool/respool/eventstore"
)

// roundTrip encodes e as the client would send it and decodes it as a
// reader would get it back from the server.
func roundTrip(e eventstore.Event, created time.Time) eventstore.Event {
	d := encodeEvent(e)
	id := d.EventID
	if id == uuid.Nil {
		id = uuid.New() // what the client does
	}
	return decodeEvent(&esdbclient.RecordedEvent{
		EventID:      id,
		EventType:    d.EventType,
		Data:         d.Data,
		UserMetadata: d.Metadata,
		CreatedDate:  created,
	})
}

// FuzzEnvelope checks that any event within the store's limits comes back
// from the envelope as it went in.
func FuzzEnvelope(f *testing.F) {
	f.Add("cmd-1/0", []byte(`{"account":"a"}`), int64(1740817800123456789), []byte(`{}`))
	f.Add("0b7e5a3c-7f35-4c4e-9d61-2f0f4b6d9a11", []byte(" {}"), int64(0), []byte{0xff})
	f.Add("", []byte(nil), int64(-62135596800_000000000/1000), []byte(nil))
	f.Add("{0B7E5A3C-7F35-4C4E-9D61-2F0F4B6D9A11}", []byte(`null`), int64(-1), []byte(`"x"`))
	f.Add("\"\\\u2028", []byte("\xff\x00"), int64(1), []byte(""))
	f.Fuzz(func(t *testing.T, id string, meta []byte, unixNano int64, data []byte) {
		e := eventstore.Event{ID: id, Type: "t", Data: data, Metadata: meta, Time: time.Unix(0, unixNano).In(time.FixedZone("x", 3600))}
		got := roundTrip(e, time.Unix(1, 0))
		if got.ID != e.ID || !bytes.Equal(got.Metadata, e.Metadata) || !bytes.Equal(got.Data, e.Data) ||
			!got.Time.Equal(e.Time) || got.Time.Location() != time.UTC || got.Type != e.Type {
			t.Fatalf("round trip of %+v gave %+v (envelope %s)", e, got, encodeEvent(e).Metadata)
		}
	})
}

// FuzzDecodeForeign checks that decoding custom metadata that this package
// did not write never fails or panics, and keeps it as the metadata unless
// it is a valid envelope.
func FuzzDecodeForeign(f *testing.F) {
	f.Add([]byte(`{"respool":1,"time":"2025-03-01T00:30:00Z"}`))
	f.Add([]byte(`{"respool":2,"time":"2025-03-01T00:30:00Z"}`))
	f.Add([]byte(`{"$correlationId":"x"}`))
	f.Add([]byte(`{"respool":1,"time":"yesterday"}`))
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, meta []byte) {
		created := time.Unix(1234, 5).UTC()
		got := decodeEvent(&esdbclient.RecordedEvent{EventID: uuid.Nil, EventType: "t", UserMetadata: meta, CreatedDate: created})
		if _, err := decodeEnvelope(meta); err != nil && (!bytes.Equal(got.Metadata, meta) || !got.Time.Equal(created) || got.ID != uuid.Nil.String()) {
			t.Fatalf("foreign metadata %q decoded as %+v", meta, got)
		}
	})
}

func TestEnvelopeLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    eventstore.Event
		want string
	}{
		{"uuid_id_json_metadata", eventstore.Event{ID: "0b7e5a3c-7f35-4c4e-9d61-2f0f4b6d9a11", Metadata: []byte(`{"a":1}`), Time: time.Date(2025, 3, 1, 0, 30, 0, 5, time.UTC)},
			`{"respool":1,"time":"2025-03-01T00:30:00.000000005Z","metadata":{"a":1}}`},
		{"other_id_binary_metadata", eventstore.Event{ID: "cmd-1/0", Metadata: []byte{0xff}},
			`{"respool":1,"time":"0001-01-01T00:00:00Z","id":"cmd-1/0","metadataBase64":"/w=="}`},
		{"empty_id_no_metadata", eventstore.Event{},
			`{"respool":1,"time":"0001-01-01T00:00:00Z","id":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(encodeEvent(tc.e).Metadata); got != tc.want {
				t.Errorf("envelope %s, want %s", got, tc.want)
			}
		})
	}
}
