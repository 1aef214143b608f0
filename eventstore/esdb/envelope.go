package esdb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	esdbclient "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/respool/respool/eventstore"
)

// IDNamespace is the UUID namespace of event ids that are not UUIDs: such an
// id is stored under the UUIDv5 (SHA-1) of IDNamespace and the id's bytes. It
// is itself the UUIDv5 of the URL namespace and
// "https://github.com/respool/respool/eventstore/esdb", and never changes:
// changing it would stop the server from recognising retried appends.
const IDNamespace = "ce3b1503-296f-59b7-876d-f223369a38eb"

// EventUUID returns the UUID an event id is stored under on the server, which
// deduplicates appends by it. An id that parses as a UUID is used as it is;
// any other non-empty id gives the UUIDv5 of [IDNamespace] and the id, so the
// same id always gives the same UUID. An empty id gives uuid.Nil, for which
// the client draws a random UUID (such an append is not deduplicated).
func EventUUID(id string) uuid.UUID {
	if id == "" {
		return uuid.Nil
	}
	if u, err := uuid.Parse(id); err == nil {
		return u
	}
	return uuid.NewSHA1(uuid.MustParse(IDNamespace), []byte(id))
}

// envelopeVersion marks custom metadata written by this package.
const envelopeVersion = 1

// The custom metadata of an event this package writes is a JSON object:
//
//	{"respool":1,"time":"2025-01-02T03:04:05.123456789Z","id":"cmd-7/0","metadata":{...}}
//
// "time" is Event.Time (the server only keeps its own append time); "id" is
// Event.ID when it is not the canonical text of the UUID the event is stored
// under ("idBase64" when it is not UTF-8); "metadata" is Event.Metadata verbatim when it is JSON without
// surrounding white space, and "metadataBase64" carries any other non-empty
// Metadata. The keys come in this order, so the bytes are a function of the
// event.
type envelope struct {
	Respool        int             `json:"respool"`
	Time           string          `json:"time"`
	ID             *string         `json:"id"`
	IDBase64       []byte          `json:"idBase64"`
	Metadata       json.RawMessage `json:"metadata"`
	MetadataBase64 []byte          `json:"metadataBase64"`
}

// encodeEvent turns an event into what the client sends.
func encodeEvent(e eventstore.Event) esdbclient.EventData {
	id := EventUUID(e.ID)
	var b bytes.Buffer
	b.WriteString(`{"respool":`)
	b.WriteString(strconv.Itoa(envelopeVersion))
	b.WriteString(`,"time":`)
	b.WriteString(strconv.Quote(e.Time.UTC().Format(time.RFC3339Nano)))
	switch {
	case !utf8.ValidString(e.ID): // JSON text would not keep it
		b.WriteString(`,"idBase64":"`)
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(e.ID)))
		b.WriteByte('"')
	case id == uuid.Nil || id.String() != e.ID:
		b.WriteString(`,"id":`)
		writeJSONString(&b, e.ID)
	}
	switch m := e.Metadata; {
	case len(m) == 0:
	case json.Valid(m) && len(bytes.TrimSpace(m)) == len(m):
		b.WriteString(`,"metadata":`)
		b.Write(m)
	default:
		b.WriteString(`,"metadataBase64":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(m))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	ct := esdbclient.ContentTypeBinary
	if len(e.Data) > 0 && json.Valid(e.Data) {
		ct = esdbclient.ContentTypeJson
	}
	return esdbclient.EventData{
		EventID:     id,
		EventType:   e.Type,
		ContentType: ct,
		Data:        e.Data,
		Metadata:    b.Bytes(),
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// decodeEvent turns a recorded event back into the event that was appended.
// Events in this package's streams that it did not write (no envelope) come
// back with the server's id, append time and raw custom metadata.
func decodeEvent(r *esdbclient.RecordedEvent) eventstore.Event {
	e := eventstore.Event{
		ID:       r.EventID.String(),
		Type:     r.EventType,
		Data:     r.Data,
		Metadata: r.UserMetadata,
		Time:     r.CreatedDate.UTC(),
	}
	env, err := decodeEnvelope(r.UserMetadata)
	if err != nil {
		return e
	}
	e.Time = env.time
	e.Metadata = env.metadata
	if env.id != nil {
		e.ID = *env.id
	}
	return e
}

type decoded struct {
	time     time.Time
	id       *string
	metadata []byte
}

var errNoEnvelope = errors.New("esdb: custom metadata is not a respool envelope")

// decodeEnvelope parses custom metadata written by encodeEvent.
func decodeEnvelope(b []byte) (decoded, error) {
	if len(b) == 0 || b[0] != '{' {
		return decoded{}, errNoEnvelope
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Respool != envelopeVersion {
		return decoded{}, errNoEnvelope
	}
	t, err := time.Parse(time.RFC3339Nano, env.Time)
	if err != nil {
		return decoded{}, errNoEnvelope
	}
	d := decoded{time: t.UTC(), id: env.ID}
	if env.IDBase64 != nil {
		id := string(env.IDBase64)
		d.id = &id
	}
	switch {
	case env.Metadata != nil:
		d.metadata = []byte(env.Metadata)
	case env.MetadataBase64 != nil:
		d.metadata = env.MetadataBase64
	}
	return d, nil
}
