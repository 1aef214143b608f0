package domain

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// Decoder decodes events and reuses what repeats from one event to the next
// (the head of the events of one command; pool, account, flavor, region and
// other strings; amounts), so that rebuilding allocates little: events come
// from slabs of up to 64, and new strings from shared blocks of up to 4 KB,
// so a rebuild makes a few allocations per hundred events. An event, or a
// string in it, keeps its slab or block alive, and no more. The zero value
// is ready to use. A Decoder is not safe for concurrent use; use one per
// goroutine.
type Decoder struct {
	last [internSlots][internWays]string
	next [internSlots]uint8
	// Events come from slabs that double from 1 to maxSlab events: a long
	// stream costs one allocation per 64 of them, a single Decode one small
	// one. An event keeps its slab alive, nothing more.
	added   slab[NodeAdded]
	removed slab[NodeRemoved]

	// What the fast path for node events read last (see fastNode).
	plain     [internSlots][internWays]string
	plainKey  [internSlots][internWays]uint64 // a short value and its quote as a word; 0 if longer
	plainNext [internSlots]uint8
	atRaw     [32]byte // the bytes of at; atLen 0 when none
	atLen     int
	at        time.Time
	head      [160]byte // the bytes of the last head fastHead read
	headLen   int
	headMeta  Meta

	// text holds the bytes of the strings that do not repeat (node ids),
	// one allocation for many of them; a string keeps its block alive.
	text  []byte
	nText int

	// Recent amounts and their bytes (see money).
	monies [8]struct {
		raw string
		m   Money
	}
	nextMoney uint8

	created  slab[Created]
	renewed  slab[Renewed]
	status   slab[StatusChanged]
	deleted  slab[Deleted]
	used     slab[QuotaUsed]
	freed    slab[QuotaFreed]
	taken    slab[StockTaken]
	returned slab[StockReturned]

	// What DecodeTransient returns for node events, with the headGen
	// their Meta was copied at.
	headGen      uint64
	scratchAdded struct {
		NodeAdded
		gen uint64
	}
	scratchRemoved struct {
		NodeRemoved
		gen uint64
	}
}

const maxText = 4096

// unique returns b as a string that shares a block of d.text with the
// strings before it. A block is only ever appended to, so the bytes under a
// string never change once it is made.
func (d *Decoder) unique(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > maxText/8 {
		return string(b)
	}
	if cap(d.text)-len(d.text) < len(b) {
		d.nText = min(max(2*d.nText, 64), maxText)
		d.text = make([]byte, 0, d.nText)
	}
	start := len(d.text)
	d.text = append(d.text, b...)
	return unsafe.String(&d.text[start], len(b))
}

const maxSlab = 64

// slab hands out values of T from arrays that double from 1 to maxSlab.
type slab[T any] struct {
	free []T
	n    int
	// After the first rewind (keep), the arrays handed out are kept in
	// full, and each rewind hands them out again from the first (reuse).
	keep  bool
	full  [][]T
	reuse int
}

func (s *slab[T]) next() *T {
	if len(s.free) == 0 {
		s.refill()
	}
	p := &s.free[0]
	s.free = s.free[1:]
	return p
}

func (s *slab[T]) refill() {
	if !s.keep {
		s.free = make([]T, nextSlab(&s.n))
		return
	}
	if s.reuse == len(s.full) {
		s.full = append(s.full, make([]T, maxSlab))
	}
	s.free = s.full[s.reuse]
	s.reuse++
}

// rewind hands out the kept arrays again. Every event is written whole
// when it is handed out, so nothing of an earlier one shows through.
func (s *slab[T]) rewind() {
	s.keep, s.free, s.reuse = true, nil, 0
}

func nextSlab(n *int) int {
	*n = min(max(2**n, 1), maxSlab)
	return *n
}

// internWays is how many recent values each field remembers: enough for
// values that take turns, such as the AZs of a "random" pool.
const internWays = 4

// Decode reads an event written by Encode. Any other input, including
// truncated or foreign JSON, an unknown type name, an unknown field or a
// payload of another version, is an error wrapping ErrDecode; it never
// panics.
func Decode(typ string, data []byte) (Event, error) {
	var d Decoder
	return d.Decode(typ, data)
}

const (
	slotPool = iota
	slotAccount
	slotCommand
	slotType
	slotBilling
	slotFlavor
	slotKind
	slotRegion
	slotAZ
	slotReason
	slotFrom
	slotTo
	slotCurrency
	internSlots
)

func (d *Decoder) intern(slot int, b []byte) string {
	ways := &d.last[slot]
	for i := range ways {
		if string(b) == ways[i] { // compared without allocating
			return ways[i]
		}
	}
	s := d.unique(b)
	ways[d.next[slot]%internWays] = s
	d.next[slot]++
	return s
}

// fields is every field an event payload may have.
type fields struct {
	v                                  int
	pool, account, command             string
	at                                 time.Time
	name, description                  string
	typ, billing, flavor, kind, region string
	az, node, reason, from, to         string
	network                            *Network
	prices                             Prices
	hasPrices                          bool
	nodes, months                      int
	term                               Term  // zero when absent
	charge, listPrice, balance         Money // Zero when absent
	amount, rate                       Money
	autoRenew, automatic, on, limited  bool
	quota                              map[FlavorID]int
}

// Decode reads one event; see the package function Decode.
func (d *Decoder) Decode(typ string, data []byte) (Event, error) {
	if typ == TypeNodeAdded || typ == TypeNodeRemoved {
		if e, ok := d.fastNode(typ, data, false); ok {
			return e, nil
		}
	}
	return d.decode(typ, data)
}

// Rewind lets d decode into the memory of the events it returned before,
// for a caller that decodes a run of events, is done with all of them, and
// decodes the next run (a batch of a rebuild): after the first Rewind, d
// keeps the arrays it takes events from, and each Rewind hands them out
// again, so that a steady flow of runs allocates no events at all. No
// event d returned before a Rewind may be used after it: it may be
// overwritten by a later one. The strings in them stay valid (their bytes
// are never rewritten), and so may be kept.
func (d *Decoder) Rewind() {
	d.added.rewind()
	d.removed.rewind()
	d.created.rewind()
	d.renewed.rewind()
	d.status.rewind()
	d.deleted.rewind()
	d.used.rewind()
	d.freed.rewind()
	d.taken.rewind()
	d.returned.rewind()
}

// DecodeTransient is Decode for a caller that is done with each event
// before it decodes the next one, such as a fold into state: the NodeAdded
// or NodeRemoved it returns is overwritten by a later call, so that a
// rebuild allocates nothing per node event. The strings in it, and every
// other event it returns, are the caller's to keep.
func (d *Decoder) DecodeTransient(typ string, data []byte) (Event, error) {
	if typ == TypeNodeAdded || typ == TypeNodeRemoved {
		if e, ok := d.fastNode(typ, data, true); ok {
			return e, nil
		}
	}
	return d.decode(typ, data)
}

func (d *Decoder) decode(typ string, data []byte) (Event, error) {
	var f fields
	s := scanner{b: data}
	first := true
	// A head laid out as AppendEncode writes it is read fast, and the other
	// fields are scanned on from there.
	l := literal{b: data}
	if m, gen, ok := d.readHead(&l); ok {
		if gen != 0 {
			m = d.headMeta
		}
		f.v, f.pool, f.account, f.at, f.command = CodecVersion, string(m.Pool), string(m.Account), m.At, string(m.Command)
		s.i, first = l.i, false
	} else if err := s.open(); err != nil {
		return nil, decodeErr(typ, "%v", err)
	}
	for ; ; first = false {
		key, done, err := s.next(first)
		if err == nil && !done {
			err = d.field(&s, &f, key)
		}
		if err != nil {
			return nil, decodeErr(typ, "%v", err)
		}
		if done {
			break
		}
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, decodeErr(typ, "trailing data after the payload")
	}
	if f.v != CodecVersion {
		return nil, decodeErr(typ, "payload version %d, this codec reads %d", f.v, CodecVersion)
	}
	if f.account == "" || f.command == "" || f.at.IsZero() {
		return nil, decodeErr(typ, "account, command and at are required")
	}
	if f.nodes < 0 {
		return nil, decodeErr(typ, "negative node count %d", f.nodes)
	}
	m := Meta{Pool: PoolID(f.pool), Account: AccountID(f.account), At: f.at, Command: CommandID(f.command)}
	if len(typ) > 5 && typ[:5] == "pool." && f.pool == "" {
		return nil, decodeErr(typ, "pool is required")
	}
	var e Event
	switch typ {
	case TypeNodeAdded:
		n := d.added.next()
		*n = NodeAdded{Meta: m, Node: NodeID(f.node), AZ: f.az}
		e = n
	case TypeNodeRemoved:
		n := d.removed.next()
		*n = NodeRemoved{Meta: m, Node: NodeID(f.node)}
		e = n
	case TypeCreated:
		if !f.hasPrices {
			return nil, decodeErr(typ, "prices are required")
		}
		c := d.created.next()
		*c = Created{Meta: m, Name: f.name, Description: f.description, Type: PoolType(f.typ), Billing: Billing(f.billing),
			Flavor: FlavorID(f.flavor), Kind: Kind(f.kind), Region: f.region, AZ: f.az, Network: f.network,
			Prices: f.prices, Nodes: f.nodes, Term: f.term, Charge: f.charge,
			ListPrice: f.listPrice, AutoRenew: f.autoRenew}
		if c.Type != Training && c.Type != Deployment || c.Billing != PayPerUse && c.Billing != Prepaid {
			return nil, decodeErr(typ, "type %q or billing %q is not known", c.Type, c.Billing)
		}
		e = c
	case TypeRenewed:
		r := d.renewed.next()
		*r = Renewed{Meta: m, Term: f.term, Charge: f.charge, ListPrice: f.listPrice, Automatic: f.automatic}
		e = r
	case TypeRenewalFailed:
		e = &RenewalFailed{Meta: m, Months: f.months, Charge: f.charge, Reason: Code(f.reason)}
	case TypeAutoRenewalChanged:
		e = &AutoRenewalChanged{Meta: m, On: f.on, Months: f.months}
	case TypeStatusChanged:
		c := d.status.next()
		*c = StatusChanged{Meta: m, From: Status(f.from), To: Status(f.to), Reason: f.reason}
		e = c
	case TypeDeleted:
		c := d.deleted.next()
		*c = Deleted{Meta: m, Reason: f.reason}
		e = c
	case TypeAccountOpened:
		e = &AccountOpened{Meta: m, Quota: f.quota, Limited: f.limited, Balance: f.balance}
	case TypeQuotaUsed:
		c := d.used.next()
		*c = QuotaUsed{Meta: m, Flavor: FlavorID(f.flavor), Nodes: f.nodes}
		e = c
	case TypeQuotaFreed:
		c := d.freed.next()
		*c = QuotaFreed{Meta: m, Flavor: FlavorID(f.flavor), Nodes: f.nodes}
		e = c
	case TypeCharged:
		e = &Charged{Meta: m, Amount: f.amount}
	case TypeRefunded:
		e = &Refunded{Meta: m, Amount: f.amount}
	case TypeToppedUp:
		e = &ToppedUp{Meta: m, Amount: f.amount}
	case TypeRateChanged:
		e = &RateChanged{Meta: m, Rate: f.rate}
	case TypeArrearsStarted:
		e = &ArrearsStarted{Meta: m}
	case TypeArrearsCleared:
		e = &ArrearsCleared{Meta: m}
	case TypeStockTaken:
		c := d.taken.next()
		*c = StockTaken{Meta: m, Flavor: FlavorID(f.flavor), Region: f.region, Nodes: f.nodes}
		e = c
	case TypeStockReturned:
		c := d.returned.next()
		*c = StockReturned{Meta: m, Flavor: FlavorID(f.flavor), Region: f.region, Nodes: f.nodes}
		e = c
	default:
		return nil, decodeErr(typ, "unknown event type")
	}
	return e, nil
}

func decodeErr(typ, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrDecode, typ, fmt.Sprintf(format, args...))
}

// field reads the value of one top-level key into f. null leaves a field at
// its zero value, as encoding/json does.
func (d *Decoder) field(s *scanner, f *fields, key []byte) error {
	if s.null() {
		return nil
	}
	var err error
	switch string(key) {
	case "v":
		f.v, err = s.int()
	case "pool":
		f.pool, err = s.internStr(d, slotPool)
	case "account":
		f.account, err = s.internStr(d, slotAccount)
	case "command":
		f.command, err = s.internStr(d, slotCommand)
	case "at":
		f.at, err = s.time()
	case "name":
		f.name, err = s.str()
	case "description":
		f.description, err = s.str()
	case "type":
		f.typ, err = s.internStr(d, slotType)
	case "billing":
		f.billing, err = s.internStr(d, slotBilling)
	case "flavor":
		f.flavor, err = s.internStr(d, slotFlavor)
	case "kind":
		f.kind, err = s.internStr(d, slotKind)
	case "region":
		f.region, err = s.internStr(d, slotRegion)
	case "az":
		f.az, err = s.internStr(d, slotAZ)
	case "node":
		f.node, err = s.str()
	case "reason":
		f.reason, err = s.internStr(d, slotReason)
	case "from":
		f.from, err = s.internStr(d, slotFrom)
	case "to":
		f.to, err = s.internStr(d, slotTo)
	case "nodes":
		f.nodes, err = s.int()
	case "months":
		f.months, err = s.int()
	case "auto_renew":
		f.autoRenew, err = s.bool()
	case "automatic":
		f.automatic, err = s.bool()
	case "on":
		f.on, err = s.bool()
	case "limited":
		f.limited, err = s.bool()
	case "charge":
		f.charge, err = d.money(s)
	case "list_price":
		f.listPrice, err = d.money(s)
	case "balance":
		f.balance, err = d.money(s)
	case "amount":
		f.amount, err = d.money(s)
	case "rate":
		f.rate, err = d.money(s)
	case "network":
		n := &Network{}
		err = s.each(func(k []byte) error {
			if s.null() {
				return nil
			}
			var e error
			switch string(k) {
			case "vpc":
				n.VPC, e = s.str()
			case "subnet":
				n.Subnet, e = s.str()
			case "security_group":
				n.SecurityGroup, e = s.str()
			default:
				return fmt.Errorf("unknown field network.%q", k)
			}
			return e
		})
		f.network = n
	case "prices":
		f.prices, f.hasPrices = Prices{}, true
		p := &f.prices
		err = s.each(func(k []byte) error {
			if s.null() {
				return nil
			}
			var e error
			switch string(k) {
			case "currency":
				p.Currency, e = s.internStr(d, slotCurrency)
				return e
			case "hourly":
				p.Hourly, e = d.money(s)
			case "monthly":
				p.Monthly, e = d.money(s)
			case "yearly":
				p.Yearly, e = d.money(s)
			default:
				return fmt.Errorf("unknown field prices.%q", k)
			}
			return e
		})
	case "term":
		f.term = Term{}
		t := &f.term
		err = s.each(func(k []byte) error {
			if s.null() {
				return nil
			}
			var e error
			switch string(k) {
			case "start":
				t.Start, e = s.time()
			case "end":
				t.End, e = s.time()
			case "months":
				t.Months, e = s.int()
			default:
				return fmt.Errorf("unknown field term.%q", k)
			}
			return e
		})
	case "quota":
		q := map[FlavorID]int{}
		err = s.each(func(k []byte) error {
			name, e := unescape(k)
			if e != nil {
				return e
			}
			if s.null() {
				q[FlavorID(name)] = 0
				return nil
			}
			n, e := s.int()
			q[FlavorID(name)] = n
			return e
		})
		f.quota = q
	default:
		return fmt.Errorf("unknown field %q", key)
	}
	return err
}

// scanner reads the small subset of JSON the codec writes, strictly.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.i, fmt.Sprintf(format, args...))
}

// open reads the '{' of an object; next then yields its keys one by one,
// leaving the scanner at each key's value, which the caller must consume.
// (A loop rather than a callback, so that nothing escapes to the heap.)
func (s *scanner) open() error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.errf("want an object")
	}
	s.i++
	return nil
}

// next returns the next key of the object being read, or done at its '}'.
// first is true for the first call after open.
func (s *scanner) next(first bool) (key []byte, done bool, err error) {
	s.ws()
	if s.i >= len(s.b) {
		return nil, false, s.errf("unterminated object")
	}
	switch c := s.b[s.i]; {
	case c == '}':
		s.i++
		return nil, true, nil
	case !first && c == ',':
		s.i++
		s.ws()
	case !first:
		return nil, false, s.errf("want ',' or '}'")
	}
	if key, err = s.rawStr(); err != nil {
		return nil, false, err
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return nil, false, s.errf("want ':'")
	}
	s.i++
	s.ws()
	return key, false, nil
}

// each reads a nested object, calling fn at each key's value. Nested
// objects are rare (Created, Renewed, AccountOpened), so a callback is fine
// here.
func (s *scanner) each(fn func(key []byte) error) error {
	if err := s.open(); err != nil {
		return err
	}
	for first := true; ; first = false {
		key, done, err := s.next(first)
		if err != nil || done {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
	}
}

// null consumes a JSON null if one is next.
func (s *scanner) null() bool {
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

// rawStr reads a JSON string and returns its bytes between the quotes, still
// escaped; it checks the escapes and that the string is valid UTF-8 with no
// control characters.
func (s *scanner) rawStr() ([]byte, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, s.errf("want a string")
	}
	s.i++
	start := s.i
	for s.i += plainRun(s.b[s.i:]); s.i < len(s.b); {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			return raw, nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, s.errf("unterminated escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) {
					return nil, s.errf("short \\u escape")
				}
				for _, h := range s.b[s.i+2 : s.i+6] {
					if unhex(h) < 0 {
						return nil, s.errf("bad \\u escape")
					}
				}
				s.i += 6
			default:
				return nil, s.errf("bad escape")
			}
		case c < 0x20:
			return nil, s.errf("control character in a string")
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return nil, s.errf("invalid UTF-8 in a string")
			}
			s.i += size
		}
	}
	return nil, s.errf("unterminated string")
}

func hasEscape(b []byte) bool { return bytes.IndexByte(b, '\\') >= 0 }

func (s *scanner) str() (string, error) {
	raw, err := s.rawStr()
	if err != nil {
		return "", err
	}
	return unescape(raw)
}

func (s *scanner) internStr(d *Decoder, slot int) (string, error) {
	raw, err := s.rawStr()
	if err != nil {
		return "", err
	}
	if hasEscape(raw) {
		return unescape(raw)
	}
	return d.intern(slot, raw), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape decodes the escapes of a raw string that rawStr checked.
func unescape(raw []byte) (string, error) {
	if !hasEscape(raw) {
		return string(raw), nil
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			out = append(out, raw[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := rune(unhex(raw[i+2])<<12 | unhex(raw[i+3])<<8 | unhex(raw[i+4])<<4 | unhex(raw[i+5]))
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 = rune(unhex(raw[i+2])<<12 | unhex(raw[i+3])<<8 | unhex(raw[i+4])<<4 | unhex(raw[i+5]))
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		}
		i += 2
	}
	return string(out), nil
}

func (s *scanner) int() (int, error) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, s.errf("want an integer")
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, s.errf("want an integer, not a fraction")
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 0)
	if err != nil {
		return 0, s.errf("integer out of range")
	}
	return int(n), nil
}

func (s *scanner) bool() (bool, error) {
	switch {
	case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
		s.i += 4
		return true, nil
	case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
		s.i += 5
		return false, nil
	}
	return false, s.errf("want true or false")
}

func (d *Decoder) money(s *scanner) (Money, error) {
	raw, err := s.rawStr()
	if err != nil {
		return Money{}, err
	}
	// Amounts repeat (prices, the charge for a term): the same bytes give
	// the same amount, without parsing it again.
	for i := range d.monies {
		if c := &d.monies[i]; c.raw != "" && string(raw) == c.raw {
			return c.m, nil
		}
	}
	str, err := unescape(raw)
	if err != nil {
		return Money{}, err
	}
	m, err := ParseMoney(str)
	if err != nil {
		return Money{}, err
	}
	c := &d.monies[d.nextMoney%uint8(len(d.monies))]
	d.nextMoney++
	c.raw, c.m = d.unique(raw), m
	return m, nil
}

// time reads an RFC 3339 instant. The codec writes UTC with a "Z"; that form
// is parsed by hand without allocating, any other by the time package.
func (s *scanner) time() (time.Time, error) {
	raw, err := s.rawStr()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := parseUTC(raw); ok {
		return t, nil
	}
	str, err := unescape(raw)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return time.Time{}, fmt.Errorf("at offset %d: %v", s.i, err)
	}
	return t, nil
}

// parseUTC parses YYYY-MM-DDTHH:MM:SS[.fraction]Z, the form AppendEncode
// writes, and reports false for anything else (which then gets the strict
// general parser).
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	ns := 0
	if rest := b[19 : len(b)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			frac *= 10
		}
		ns = frac
	}
	return time.Unix(daysFromCivil(y, mo, d)*86400+int64(h*3600+mi*60+sec), int64(ns)).UTC(), true
}

// monthDays is the length of month m of year y (Gregorian), by arithmetic.
func monthDays(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm), cheaper than
// time.Date on the decoder's hot path.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// fastNode decodes a NodeAdded or NodeRemoved laid out exactly as
// AppendEncode writes it (keys in order, plain ASCII strings), by matching
// literals; anything else reports false and goes to the general decoder,
// which gives the same event or the error. Node events are most of any log,
// so this is the rebuild's hot path. Pool, account, instant, command and AZ
// repeat from one event to the next, and are recognised by comparing bytes
// with the values the fast path read before; only the node id is new.
func (d *Decoder) fastNode(typ string, data []byte, transient bool) (Event, bool) {
	f := literal{b: data}
	m, gen, ok := d.readHead(&f)
	if !ok {
		return nil, false
	}
	var az string
	if typ == TypeNodeAdded && f.lit(`,"az":"`) {
		if az, ok = d.fastStr(&f, slotAZ); !ok {
			return nil, false
		}
	}
	var node []byte
	if !f.lit(`,"node":"`) || !f.str(&node) || !f.lit("}") || f.i != len(data) {
		return nil, false
	}
	mp := &m
	if gen != 0 {
		mp = &d.headMeta
	}
	if transient {
		// The scratch event keeps its meta while the head stays the same.
		if typ == TypeNodeAdded {
			n := &d.scratchAdded
			if gen == 0 || n.gen != gen {
				n.Meta, n.gen = *mp, gen
			}
			n.Node, n.AZ = NodeID(d.unique(node)), az
			return &n.NodeAdded, true
		}
		n := &d.scratchRemoved
		if gen == 0 || n.gen != gen {
			n.Meta, n.gen = *mp, gen
		}
		n.Node = NodeID(d.unique(node))
		return &n.NodeRemoved, true
	}
	if typ == TypeNodeAdded {
		n := d.added.next()
		*n = NodeAdded{Meta: *mp, Node: NodeID(d.unique(node)), AZ: az}
		return n, true
	}
	n := d.removed.next()
	*n = NodeRemoved{Meta: *mp, Node: NodeID(d.unique(node))}
	return n, true
}

// readHead reads the head of a payload laid out as AppendEncode writes it,
// with a pool: from "v" to the command's closing quote. Bytes equal to the
// last head it read give the same meta without being read again: then gen
// is d.headGen and m is left zero (the meta is d.headMeta). Otherwise gen is
// d.headGen if m was remembered as the new last head, and 0 if not.
func (d *Decoder) readHead(f *literal) (m Meta, gen uint64, ok bool) {
	data := f.b
	if n := d.headLen; n > 0 && len(data) > n && string(data[:n]) == string(d.head[:n]) {
		f.i = n
		return Meta{}, d.headGen, true
	}
	if m, ok = d.fastHead(f); !ok {
		return Meta{}, 0, false
	}
	if f.i <= len(d.head) {
		d.headLen, d.headMeta = copy(d.head[:], data[:f.i]), m
		d.headGen++
		gen = d.headGen
	}
	return m, gen, true
}

// fastHead reads the part every event with a pool starts with, from "v" to
// the command's closing quote.
func (d *Decoder) fastHead(f *literal) (Meta, bool) {
	if !f.lit(`{"v":1,"pool":"`) {
		return Meta{}, false
	}
	pool, ok := d.fastStr(f, slotPool)
	if !ok || !f.lit(`,"account":"`) {
		return Meta{}, false
	}
	account, ok := d.fastStr(f, slotAccount)
	if !ok || !f.lit(`,"at":"`) {
		return Meta{}, false
	}
	when, ok := d.fastAt(f)
	if !ok || !f.lit(`,"command":"`) {
		return Meta{}, false
	}
	command, ok := d.fastStr(f, slotCommand)
	if !ok || pool == "" || account == "" || command == "" {
		return Meta{}, false
	}
	return Meta{Pool: PoolID(pool), Account: AccountID(account), At: when, Command: CommandID(command)}, true
}

// fastStr reads a plain string whose opening quote f has consumed. A value
// the fast path read recently for the same field is matched by its bytes and
// its closing quote; any other is scanned and remembered. Only plain values
// (see plainRun) are remembered, so a match is always a plain string.
func (d *Decoder) fastStr(f *literal, slot int) (string, bool) {
	rest := f.b[f.i:]
	ways, keys := &d.plain[slot], &d.plainKey[slot]
	if len(rest) >= 8 {
		// A value of up to 7 bytes and its quote fit in one word.
		v := binary.LittleEndian.Uint64(rest)
		for i, k := range keys {
			if k != 0 && v&wordMask(len(ways[i])) == k {
				f.i += len(ways[i]) + 1
				return ways[i], true
			}
		}
	}
	for i, w := range ways {
		if keys[i] == 0 && len(rest) > len(w) && rest[len(w)] == '"' && string(rest[:len(w)]) == w {
			f.i += len(w) + 1
			return w, true
		}
	}
	var b []byte
	if !f.str(&b) {
		return "", false
	}
	s := d.intern(slot, b)
	way := d.plainNext[slot] % internWays
	d.plainNext[slot]++
	ways[way], keys[way] = s, 0
	if len(s) <= 7 {
		var word [8]byte
		copy(word[:], s)
		word[len(s)] = '"'
		keys[way] = binary.LittleEndian.Uint64(word[:])
	}
	return s, true
}

// wordMask keeps the first n+1 bytes of a little-endian word (n <= 7).
func wordMask(n int) uint64 { return ^uint64(0) >> (56 - 8*(n&7)) }

// fastAt reads the instant of a node event: the same bytes as the last one
// give the same instant without parsing.
func (d *Decoder) fastAt(f *literal) (time.Time, bool) {
	rest := f.b[f.i:]
	if n := d.atLen; n > 0 && len(rest) > n && rest[n] == '"' && string(rest[:n]) == string(d.atRaw[:n]) {
		f.i += n + 1
		return d.at, true
	}
	var b []byte
	if !f.str(&b) {
		return time.Time{}, false
	}
	when, ok := parseUTC(b)
	if !ok {
		return time.Time{}, false
	}
	if len(b) <= len(d.atRaw) {
		d.atLen, d.at = copy(d.atRaw[:], b), when
	}
	return when, true
}

// literal matches an exact layout.
type literal struct {
	b []byte
	i int
}

func (l *literal) lit(s string) bool {
	if len(l.b)-l.i >= len(s) && string(l.b[l.i:l.i+len(s)]) == s {
		l.i += len(s)
		return true
	}
	return false
}

// str takes a string's bytes up to its closing quote, which it consumes;
// it refuses escapes, control characters and non-ASCII (the general decoder
// handles those).
func (l *literal) str(out *[]byte) bool {
	start := l.i
	for l.i += plainRun(l.b[l.i:]); l.i < len(l.b); l.i++ {
		switch c := l.b[l.i]; {
		case c == '"':
			*out = l.b[start:l.i]
			l.i++
			return true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return false
		}
	}
	return false
}
