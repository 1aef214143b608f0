package esdbtest

import (
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// System metadata keys, as the client reads and writes them.
const (
	keyType        = "type"
	keyContentType = "content-type"
	keyCreated     = "created"
)

// streamsService implements the Streams service: Read and Append. Delete,
// Tombstone and BatchAppend answer Unimplemented.
type streamsService struct {
	streams.UnimplementedStreamsServer
	s *Server
}

// expectation is an append's expected stream revision.
type expectation struct {
	kind     int // expectAny, expectNoStream, expectExists, expectRevision
	revision uint64
}

const (
	expectAny = iota
	expectNoStream
	expectExists
	expectRevision
)

// Append receives the options, then the proposed events, and writes them
// atomically. A failed expectation is a normal reply (WrongExpectedVersion),
// not a gRPC error, as on a real server.
func (svc *streamsService) Append(srv streams.Streams_AppendServer) error {
	first, err := srv.Recv()
	if err != nil {
		return err
	}
	opts := first.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "append: the first message must carry the options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	if name == "" {
		return status.Error(codes.InvalidArgument, "append: empty stream name")
	}
	var exp expectation
	switch v := opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Revision:
		exp = expectation{kind: expectRevision, revision: v.Revision}
	case *streams.AppendReq_Options_NoStream:
		exp = expectation{kind: expectNoStream}
	case *streams.AppendReq_Options_StreamExists:
		exp = expectation{kind: expectExists}
	default:
		exp = expectation{kind: expectAny}
	}
	var proposed []*streams.AppendReq_ProposedMessage
	for {
		m, err := srv.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p := m.GetProposedMessage()
		if p == nil {
			return status.Error(codes.InvalidArgument, "append: options sent twice")
		}
		if p.GetMetadata()[keyType] == "" {
			return status.Error(codes.InvalidArgument, "append: event without a type")
		}
		if p.GetMetadata()[keyContentType] == "" {
			return status.Error(codes.InvalidArgument, "append: event without a content type")
		}
		if _, err := uuidFromProto(p.GetId()); err != nil {
			return status.Error(codes.InvalidArgument, "append: "+err.Error())
		}
		proposed = append(proposed, p)
	}
	return srv.SendAndClose(svc.s.append(name, exp, proposed))
}

// append applies one write under the lock and builds its reply.
func (s *Server) append(name string, exp expectation, proposed []*streams.AppendReq_ProposedMessage) *streams.AppendResp {
	s.mu.Lock()
	defer s.mu.Unlock()
	stream := s.streams[name]
	ids := make([]uuid.UUID, len(proposed))
	for i, p := range proposed {
		ids[i], _ = uuidFromProto(p.GetId())
	}

	// Where the write must go, and whether it is already there (a retry).
	var at int // index in stream where the first event must land
	switch exp.kind {
	case expectNoStream:
		at = 0
	case expectRevision:
		if exp.revision >= uint64(len(stream))+uint64(len(ids)) {
			return wrongExpected(stream, exp) // beyond the end: never a retry
		}
		at = int(exp.revision) + 1
	default: // any, stream exists: the end, unless the events are there already
		at = len(stream)
		if i, ok := findIDs(stream, ids); ok {
			return success(stream, i+len(ids)-1)
		}
	}
	if exp.kind == expectExists && len(stream) == 0 {
		return wrongExpected(stream, exp)
	}
	if exp.kind == expectNoStream || exp.kind == expectRevision {
		if at < len(stream) {
			// Idempotent retry: the same ids already sit where this write
			// would have put them.
			if len(ids) > 0 && at+len(ids) <= len(stream) && idsAt(stream, at, ids) {
				return success(stream, at+len(ids)-1)
			}
			return wrongExpected(stream, exp)
		}
		if at > len(stream) {
			return wrongExpected(stream, exp)
		}
	}
	if len(proposed) == 0 {
		return success(stream, len(stream)-1)
	}

	created := s.now().UnixNano() / 100
	for i, p := range proposed {
		md := p.GetMetadata()
		r := &record{
			stream:      name,
			revision:    uint64(len(stream)),
			position:    s.nextPos,
			id:          ids[i],
			eventType:   md[keyType],
			contentType: md[keyContentType],
			created:     created,
			data:        p.GetData(),
			metadata:    p.GetCustomMetadata(),
		}
		// Positions advance by a record's size, like log positions do.
		s.nextPos += uint64(64 + len(name) + len(r.eventType) + len(r.data) + len(r.metadata))
		stream = append(stream, r)
		s.log = append(s.log, r)
	}
	s.streams[name] = stream
	close(s.changed)
	s.changed = make(chan struct{})
	return success(stream, len(stream)-1)
}

// findIDs reports where ids sit consecutively in stream, if they do.
func findIDs(stream []*record, ids []uuid.UUID) (int, bool) {
	if len(ids) == 0 {
		return 0, false
	}
	for i, r := range stream {
		if r.id == ids[0] {
			return i, i+len(ids) <= len(stream) && idsAt(stream, i, ids)
		}
	}
	return 0, false
}

func idsAt(stream []*record, at int, ids []uuid.UUID) bool {
	for i, id := range ids {
		if stream[at+i].id != id {
			return false
		}
	}
	return true
}

// success replies with the stream's revision last (-1: no stream) and the
// position of the event at that revision.
func success(stream []*record, last int) *streams.AppendResp {
	ok := &streams.AppendResp_Success{}
	if last < 0 {
		ok.CurrentRevisionOption = &streams.AppendResp_Success_NoStream{NoStream: &shared.Empty{}}
		ok.PositionOption = &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}}
	} else {
		r := stream[last]
		ok.CurrentRevisionOption = &streams.AppendResp_Success_CurrentRevision{CurrentRevision: r.revision}
		ok.PositionOption = &streams.AppendResp_Success_Position{Position: &streams.AppendResp_Position{
			CommitPosition: r.position, PreparePosition: r.position,
		}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}}
}

// wrongExpected fills both the current fields and the ones 20.6 clients read.
func wrongExpected(stream []*record, exp expectation) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if len(stream) == 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_NoStream_20_6_0{NoStream_20_6_0: &shared.Empty{}}
	} else {
		cur := uint64(len(stream) - 1)
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: cur}
		w.CurrentRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_CurrentRevision_20_6_0{CurrentRevision_20_6_0: cur}
	}
	switch exp.kind {
	case expectRevision:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: exp.revision}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision_20_6_0{ExpectedRevision_20_6_0: exp.revision}
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_StreamExists_20_6_0{StreamExists_20_6_0: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
		w.ExpectedRevisionOption_20_6_0 = &streams.AppendResp_WrongExpectedVersion_Any_20_6_0{Any_20_6_0: &shared.Empty{}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// Read serves stream reads, $all reads and subscriptions to either. A read
// sends only events, or StreamNotFound for a stream that does not exist: the
// client panics on anything else. A subscription sends its confirmation
// first, then the stored events, CaughtUp, and live events; filtered $all
// subscriptions also send checkpoints.
func (svc *streamsService) Read(req *streams.ReadReq, srv streams.Streams_ReadServer) error {
	opts := req.GetOptions()
	if opts == nil {
		return status.Error(codes.InvalidArgument, "read: no options")
	}
	q := query{
		backwards: opts.GetReadDirection() == streams.ReadReq_Options_Backwards,
		uuidText:  isStringUUID(opts.GetUuidOption()),
	}
	match, window, err := filterFrom(opts.GetFilter())
	if err != nil {
		return err
	}
	q.match, q.window = match, window
	_, subscribe := opts.GetCountOption().(*streams.ReadReq_Options_Subscription)
	if subscribe && q.backwards {
		return status.Error(codes.InvalidArgument, "read: a subscription reads forwards")
	}
	switch so := opts.GetStreamOption().(type) {
	case *streams.ReadReq_Options_Stream:
		name := string(so.Stream.GetStreamIdentifier().GetStreamName())
		if name == "" {
			return status.Error(codes.InvalidArgument, "read: empty stream name")
		}
		q.stream = name
		q.fromStream = so.Stream
	case *streams.ReadReq_Options_All:
		q.all = true
		q.fromAll = so.All
	default:
		return status.Error(codes.InvalidArgument, "read: neither a stream nor $all")
	}
	if subscribe {
		return svc.s.subscribe(q, srv)
	}
	return svc.s.read(q, opts.GetCount(), srv)
}

// query is a parsed read request.
type query struct {
	all        bool
	stream     string
	fromStream *streams.ReadReq_Options_StreamOptions
	fromAll    *streams.ReadReq_Options_AllOptions
	backwards  bool
	uuidText   bool
	match      func(*record) bool // nil: no filter
	window     int                // filtered subscriptions: records between checkpoints
}

func (q query) keep(r *record) bool { return q.match == nil || q.match(r) }

// read serves a read of at most count events.
func (s *Server) read(q query, count uint64, srv streams.Streams_ReadServer) error {
	s.mu.Lock()
	var src []*record
	if q.all {
		src = s.log
	} else {
		src = s.streams[q.stream]
	}
	s.mu.Unlock()
	// Records are immutable and only appended, so the slice header taken
	// under the lock is a consistent snapshot.

	if !q.all && len(src) == 0 {
		return srv.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{
			StreamNotFound: &streams.ReadResp_StreamNotFound{
				StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(q.stream)},
			},
		}})
	}
	var sent uint64
	emit := func(r *record) (bool, error) {
		if !q.keep(r) {
			return true, nil
		}
		if sent >= count {
			return false, nil
		}
		sent++
		return true, srv.Send(eventResp(r, q.uuidText))
	}
	if q.backwards {
		for i := q.startBackwards(src); i >= 0; i-- {
			if more, err := emit(src[i]); err != nil || !more {
				return err
			}
		}
		return nil
	}
	for i := q.startForwards(src); i < len(src); i++ {
		if more, err := emit(src[i]); err != nil || !more {
			return err
		}
	}
	return nil
}

// startForwards returns the index of the first record a forward read yields.
// Reads are inclusive of the revision or position they start from.
func (q query) startForwards(src []*record) int {
	if q.all {
		switch v := q.fromAll.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			return atOrAfter(src, v.Position)
		case *streams.ReadReq_Options_AllOptions_End:
			return len(src)
		default:
			return 0
		}
	}
	switch v := q.fromStream.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		return int(min(v.Revision, uint64(len(src))))
	case *streams.ReadReq_Options_StreamOptions_End:
		return len(src)
	default:
		return 0
	}
}

// startBackwards returns the index of the first record a backward read
// yields: the revision itself for streams, the record before the position for
// $all, the last record from the end.
func (q query) startBackwards(src []*record) int {
	if q.all {
		switch v := q.fromAll.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			return atOrAfter(src, v.Position) - 1
		case *streams.ReadReq_Options_AllOptions_Start:
			return -1
		default:
			return len(src) - 1
		}
	}
	switch v := q.fromStream.GetRevisionOption().(type) {
	case *streams.ReadReq_Options_StreamOptions_Revision:
		return int(min(v.Revision, uint64(len(src)-1)))
	case *streams.ReadReq_Options_StreamOptions_Start:
		return -1
	default:
		return len(src) - 1
	}
}

// atOrAfter returns the index of the first record at or after p in $all.
func atOrAfter(log []*record, p *streams.ReadReq_Options_Position) int {
	commit, prepare := p.GetCommitPosition(), p.GetPreparePosition()
	return sort.Search(len(log), func(i int) bool {
		pos := log[i].position
		return pos > commit || (pos == commit && pos >= prepare)
	})
}

// subscribe serves a catch-up subscription: confirmation, stored events,
// CaughtUp, then live events until the client goes away, the server stops or
// DropSubscriptions.
func (s *Server) subscribe(q query, srv streams.Streams_ReadServer) error {
	ctx := srv.Context()
	s.mu.Lock()
	drop := s.drop
	// Subscriptions start after the revision or position they are given.
	var next int
	if q.all {
		switch v := q.fromAll.GetAllOption().(type) {
		case *streams.ReadReq_Options_AllOptions_Position:
			next = atOrAfter(s.log, v.Position)
			if next < len(s.log) && s.log[next].position == v.Position.GetCommitPosition() {
				next++
			}
		case *streams.ReadReq_Options_AllOptions_End:
			next = len(s.log)
		}
	} else {
		src := s.streams[q.stream]
		switch v := q.fromStream.GetRevisionOption().(type) {
		case *streams.ReadReq_Options_StreamOptions_Revision:
			next = int(min(v.Revision+1, uint64(len(src))))
		case *streams.ReadReq_Options_StreamOptions_End:
			next = len(src)
		}
	}
	s.mu.Unlock()

	id := uuid.New().String()
	if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: id},
	}}); err != nil {
		return err
	}
	caughtUp := false
	scanned := 0 // records passed over by the filter since the last send
	for {
		s.mu.Lock()
		var src []*record
		if q.all {
			src = s.log
		} else {
			src = s.streams[q.stream]
		}
		changed := s.changed
		s.mu.Unlock()

		for ; next < len(src); next++ {
			r := src[next]
			if !q.keep(r) {
				scanned++
				if q.window > 0 && scanned >= q.window {
					scanned = 0
					if err := srv.Send(checkpointResp(r)); err != nil {
						return err
					}
				}
				continue
			}
			scanned = 0
			if err := srv.Send(eventResp(r, q.uuidText)); err != nil {
				return err
			}
		}
		if !caughtUp {
			caughtUp = true
			if err := srv.Send(&streams.ReadResp{Content: &streams.ReadResp_CaughtUp_{
				CaughtUp: &streams.ReadResp_CaughtUp{},
			}}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-drop:
			return status.Error(codes.Unavailable, "esdbtest: subscription dropped by the server")
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// eventResp builds the message for one event, with the system metadata the
// client requires ("created" above all: without it the client exits the
// process).
func eventResp(r *record, uuidText bool) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id:               uuidToProto(r.id, uuidText),
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
			StreamRevision:   r.revision,
			PreparePosition:  r.position,
			CommitPosition:   r.position,
			Metadata: map[string]string{
				keyType:        r.eventType,
				keyContentType: r.contentType,
				keyCreated:     strconv.FormatInt(r.created, 10),
			},
			CustomMetadata: r.metadata,
			Data:           r.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position},
	}}}
}

func checkpointResp(r *record) *streams.ReadResp {
	return &streams.ReadResp{Content: &streams.ReadResp_Checkpoint_{Checkpoint: &streams.ReadResp_Checkpoint{
		CommitPosition: r.position, PreparePosition: r.position,
	}}}
}

// filterFrom turns a read's filter into a predicate on records, and the
// number of filtered-out records between checkpoints.
func filterFrom(f *streams.ReadReq_Options_FilterOptions) (func(*record) bool, int, error) {
	if f == nil {
		return nil, 0, nil
	}
	var expr *streams.ReadReq_Options_FilterOptions_Expression
	var field func(*record) string
	switch v := f.GetFilter().(type) {
	case *streams.ReadReq_Options_FilterOptions_StreamIdentifier:
		expr, field = v.StreamIdentifier, func(r *record) string { return r.stream }
	case *streams.ReadReq_Options_FilterOptions_EventType:
		expr, field = v.EventType, func(r *record) string { return r.eventType }
	default:
		return nil, 0, status.Error(codes.InvalidArgument, "read: filter on neither stream nor event type")
	}
	window := 1
	if m, ok := f.GetWindow().(*streams.ReadReq_Options_FilterOptions_Max); ok && m.Max > 0 {
		window = int(m.Max)
	}
	window *= max(1, int(f.GetCheckpointIntervalMultiplier()))
	if re := expr.GetRegex(); re != "" {
		rx, err := regexp.Compile(re)
		if err != nil {
			return nil, 0, status.Error(codes.InvalidArgument, "read: filter regex: "+err.Error())
		}
		return func(r *record) bool { return rx.MatchString(field(r)) }, window, nil
	}
	prefixes := expr.GetPrefix()
	return func(r *record) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(field(r), p) {
				return true
			}
		}
		return false
	}, window, nil
}

func isStringUUID(o *streams.ReadReq_Options_UUIDOption) bool {
	_, ok := o.GetContent().(*streams.ReadReq_Options_UUIDOption_String_)
	return ok
}

func uuidFromProto(id *shared.UUID) (uuid.UUID, error) {
	switch v := id.GetValue().(type) {
	case *shared.UUID_Structured_:
		var u uuid.UUID
		most, least := uint64(v.Structured.GetMostSignificantBits()), uint64(v.Structured.GetLeastSignificantBits())
		for i := range 8 {
			u[i] = byte(most >> (56 - 8*i))
			u[8+i] = byte(least >> (56 - 8*i))
		}
		return u, nil
	case *shared.UUID_String_:
		return uuid.Parse(v.String_)
	default:
		return uuid.Nil, errors.New("event without an id")
	}
}

func uuidToProto(u uuid.UUID, text bool) *shared.UUID {
	if text {
		return &shared.UUID{Value: &shared.UUID_String_{String_: u.String()}}
	}
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(u[i])
		least = least<<8 | uint64(u[8+i])
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits: int64(most), LeastSignificantBits: int64(least),
	}}}
}
