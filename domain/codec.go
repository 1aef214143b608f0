package domain

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// CodecVersion is the version of the JSON payloads this codec writes. Decode
// reads exactly this version; a later version of the format gets a new
// number and Decode learns to read both.
const CodecVersion = 1

// ErrDecode is wrapped by every error of Decode: the bytes are not an event
// this codec wrote.
var ErrDecode = errors.New("domain: cannot decode event")

// The stored format, one JSON object per event: "v" (CodecVersion), "pool"
// (omitted for account events without a pool), "account", "at" (RFC 3339,
// UTC), "command", then the event's own fields in a fixed order, each
// omitted when empty. Money is a decimal string. The golden files in
// testdata/events pin every type; never rename or reorder a field.
//
// The codec is written by hand, without reflection, because it sits on both
// hot paths (appending through Service, rebuilding state). It writes exactly
// what encoding/json writes for the same fields (HTML-safe escaping, sorted
// map keys), which a differential test and fuzz target check against the
// reflection-based codec kept in codec_ref_test.go.

// Encode returns the event's stable type name and its JSON payload.
func Encode(e Event) (string, []byte, error) {
	b, err := AppendEncode(make([]byte, 0, 192), e)
	if err != nil {
		return "", nil, err
	}
	return e.EventType(), b, nil
}

// AppendEncode appends the event's JSON payload to b. Service encodes all
// the events of one append into one buffer this way.
func AppendEncode(b []byte, e Event) ([]byte, error) {
	return appendBody(appendHead(b, e.EventMeta()), e)
}

// Encoder writes payloads exactly as AppendEncode does, faster for a run of
// events that share their meta, such as the events of one command: it
// writes their common head (version, pool, account, instant, command) once
// and copies it for the next. The zero value is ready to use. An Encoder is
// not safe for concurrent use.
type Encoder struct {
	meta Meta
	head []byte
	ok   bool
}

// Append appends the event's JSON payload to b.
func (c *Encoder) Append(b []byte, e Event) ([]byte, error) {
	if m := e.EventMeta(); !c.ok || m != c.meta { // == on the instant is stricter than Equal: safe
		c.head = appendHead(c.head[:0], m)
		c.meta, c.ok = m, true
	}
	return appendBody(append(b, c.head...), e)
}

// Reset forgets the last head, and the strings it refers to.
func (c *Encoder) Reset() { c.meta, c.ok = Meta{}, false }

func appendHead(b []byte, m Meta) []byte {
	b = append(b, `{"v":1`...)
	if m.Pool != "" {
		b = appendKeyStr(b, "pool", string(m.Pool))
	}
	b = append(b, `,"account":`...)
	b = appendStr(b, string(m.Account))
	b = append(b, `,"at":"`...)
	b = m.At.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","command":`...)
	return appendStr(b, string(m.Command))
}

func appendBody(b []byte, e Event) ([]byte, error) {
	switch e := e.(type) {
	case *Created:
		b = appendKeyStr(b, "name", e.Name)
		b = appendKeyStr(b, "description", e.Description)
		b = appendKeyStr(b, "type", string(e.Type))
		b = appendKeyStr(b, "billing", string(e.Billing))
		b = appendKeyStr(b, "flavor", string(e.Flavor))
		b = appendKeyStr(b, "kind", string(e.Kind))
		b = appendKeyStr(b, "region", e.Region)
		b = appendKeyStr(b, "az", e.AZ)
		if n := e.Network; n != nil {
			b = append(b, `,"network":{"vpc":`...)
			b = appendStr(b, n.VPC)
			b = append(b, `,"subnet":`...)
			b = appendStr(b, n.Subnet)
			b = append(b, `,"security_group":`...)
			b = appendStr(b, n.SecurityGroup)
			b = append(b, '}')
		}
		b = append(b, `,"prices":{"currency":`...)
		b = appendStr(b, e.Prices.Currency)
		b = appendKeyMoney(b, "hourly", e.Prices.Hourly)
		b = appendKeyMoney(b, "monthly", e.Prices.Monthly)
		b = appendKeyMoney(b, "yearly", e.Prices.Yearly)
		b = append(b, '}')
		b = appendKeyInt(b, "nodes", e.Nodes)
		if e.Billing == Prepaid {
			b = appendTerm(b, e.Term)
			b = appendKeyMoney(b, "charge", e.Charge)
			b = appendKeyMoney(b, "list_price", e.ListPrice)
		}
		b = appendKeyBool(b, "auto_renew", e.AutoRenew)
	case *NodeAdded:
		b = appendKeyStr(b, "az", e.AZ)
		b = appendKeyStr(b, "node", string(e.Node))
	case *NodeRemoved:
		b = appendKeyStr(b, "node", string(e.Node))
	case *Renewed:
		b = appendTerm(b, e.Term)
		b = appendKeyMoney(b, "charge", e.Charge)
		b = appendKeyMoney(b, "list_price", e.ListPrice)
		b = appendKeyBool(b, "automatic", e.Automatic)
	case *RenewalFailed:
		b = appendKeyMoney(b, "charge", e.Charge)
		b = appendKeyInt(b, "months", e.Months)
		b = appendKeyStr(b, "reason", string(e.Reason))
	case *AutoRenewalChanged:
		b = appendKeyInt(b, "months", e.Months)
		b = appendKeyBool(b, "on", e.On)
	case *StatusChanged:
		b = appendKeyStr(b, "reason", e.Reason)
		b = appendKeyStr(b, "from", string(e.From))
		b = appendKeyStr(b, "to", string(e.To))
	case *Deleted:
		b = appendKeyStr(b, "reason", e.Reason)
	case *AccountOpened:
		if len(e.Quota) > 0 {
			keys := make([]string, 0, len(e.Quota))
			for k := range e.Quota {
				keys = append(keys, string(k))
			}
			sort.Strings(keys)
			b = append(b, `,"quota":{`...)
			for i, k := range keys {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendStr(b, k)
				b = append(b, ':')
				b = strconv.AppendInt(b, int64(e.Quota[FlavorID(k)]), 10)
			}
			b = append(b, '}')
		}
		b = appendKeyBool(b, "limited", e.Limited)
		if e.Limited {
			b = appendKeyMoney(b, "balance", e.Balance)
		}
	case *QuotaUsed:
		b = appendKeyStr(b, "flavor", string(e.Flavor))
		b = appendKeyInt(b, "nodes", e.Nodes)
	case *QuotaFreed:
		b = appendKeyStr(b, "flavor", string(e.Flavor))
		b = appendKeyInt(b, "nodes", e.Nodes)
	case *Charged:
		b = appendKeyMoney(b, "amount", e.Amount)
	case *Refunded:
		b = appendKeyMoney(b, "amount", e.Amount)
	case *ToppedUp:
		b = appendKeyMoney(b, "amount", e.Amount)
	case *RateChanged:
		b = appendKeyMoney(b, "rate", e.Rate)
	case *ArrearsStarted, *ArrearsCleared:
	case *StockTaken:
		b = appendKeyStr(b, "flavor", string(e.Flavor))
		b = appendKeyStr(b, "region", e.Region)
		b = appendKeyInt(b, "nodes", e.Nodes)
	case *StockReturned:
		b = appendKeyStr(b, "flavor", string(e.Flavor))
		b = appendKeyStr(b, "region", e.Region)
		b = appendKeyInt(b, "nodes", e.Nodes)
	default:
		return b, fmt.Errorf("domain: cannot encode %T: not an event of this package", e)
	}
	return append(b, '}'), nil
}

func appendTerm(b []byte, t Term) []byte {
	if t.Start.IsZero() && t.End.IsZero() {
		return b
	}
	b = append(b, `,"term":{"start":"`...)
	b = t.Start.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","end":"`...)
	b = t.End.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","months":`...)
	b = strconv.AppendInt(b, int64(t.Months), 10)
	return append(b, '}')
}

func appendKeyStr(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendStr(b, v)
}

func appendKeyInt(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, int64(v), 10)
}

func appendKeyBool(b []byte, key string, v bool) []byte {
	if !v {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	return append(b, `":true`...)
}

func appendKeyMoney(b []byte, key string, m Money) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '"')
	if m.s != "" {
		b = append(b, m.s...)
	} else {
		b = append(b, m.d.String()...)
	}
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendStr appends s as a JSON string exactly as encoding/json does:
// HTML-safe (<, >, & escaped), invalid UTF-8 replaced by U+FFFD, U+2028 and
// U+2029 escaped.
func appendStr(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := safeRun(s); i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
