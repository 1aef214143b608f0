package domain

import (
	"bytes"
	"testing"
	"time"
)

// FuzzCodecMatchesReference: wherever the hand-written decoder accepts a
// payload, the reflection-based reference decoder accepts it too, and both
// give events that encode to the same bytes with both encoders. (The
// hand-written decoder may be stricter: it rejects invalid UTF-8 and
// anything after the object.)
func FuzzCodecMatchesReference(f *testing.F) {
	when := time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC)
	m := Meta{Pool: "p<1>", Account: "a&b", At: when, Command: "c\u2028"}
	for _, e := range []Event{
		&Created{Meta: m, Name: "n", Description: "tab\there \"q\" \x01", Type: Training, Billing: Prepaid, Flavor: "f", Kind: GPU,
			Region: "r", Prices: Prices{Currency: "CNY", Hourly: MustMoney("1.5")}, Nodes: 1,
			Term: Term{Start: when, End: when.Add(time.Hour), Months: 1}, Charge: MustMoney("3")},
		&NodeAdded{Meta: m, Node: "n-0001", AZ: "az1"},
		&AccountOpened{Meta: m, Quota: map[FlavorID]int{"b": 2, "a": 1}, Limited: true, Balance: MustMoney("0.10")},
		&StatusChanged{Meta: m, From: StatusRunning, To: StatusExpired, Reason: ReasonArrears},
	} {
		typ, data, _ := Encode(e)
		f.Add(typ, data)
	}
	f.Add(TypeNodeAdded, []byte(`{"v":1,"pool":"p","account":"a","at":"2026-01-31T02:00:00.5+08:00","command":"c","node":"\ud83d\ude00"}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		got, err := Decode(typ, data)
		if err != nil {
			return
		}
		ref, rerr := refDecode(typ, data)
		if rerr != nil {
			t.Fatalf("accepted what the reference rejects (%v):\n%s", rerr, data)
		}
		_, a, err := Encode(got)
		if err != nil {
			t.Fatal(err)
		}
		_, b, berr := refEncode(ref)
		_, c, cerr := refEncode(got)
		if berr != nil || cerr != nil {
			return // encoding/json cannot write years outside 0000-9999: no claim
		}
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Fatalf("codecs disagree on\n%s\nnew %s\nref %s\nref(new) %s", data, a, b, c)
		}
	})
}

// FuzzEncodeMatchesReference: the hand-written encoder writes exactly what
// encoding/json writes, for any strings.
func FuzzEncodeMatchesReference(f *testing.F) {
	f.Add("train_a", "<b>&\u2029\xff\x00", "vpc", "n-0001", int64(1769824800123456789))
	f.Fuzz(func(t *testing.T, name, desc, vpc, node string, ns int64) {
		when := time.Unix(0, ns)
		m := Meta{Pool: PoolID(name), Account: AccountID(desc), At: when, Command: CommandID(node)}
		m2 := Meta{Pool: PoolID(vpc), Account: AccountID(desc), At: when.In(time.FixedZone("x", 3600)), Command: CommandID(node)}
		var enc Encoder // shares heads across the events: must write what Encode writes
		for _, e := range []Event{
			&Created{Meta: m, Name: name, Description: desc, Type: Deployment, Billing: PayPerUse, Flavor: FlavorID(vpc),
				Network: &Network{VPC: vpc, Subnet: desc, SecurityGroup: name}, Prices: Prices{Currency: desc}, Nodes: len(desc)},
			&NodeAdded{Meta: m, Node: NodeID(node), AZ: vpc},
			&NodeAdded{Meta: m2, Node: NodeID(node), AZ: vpc},
			&NodeRemoved{Meta: m2, Node: NodeID(name)},
			&AccountOpened{Meta: m, Quota: map[FlavorID]int{FlavorID(name): 1, FlavorID(desc): -2}},
			&StatusChanged{Meta: m, Reason: desc, From: Status(name), To: Status(vpc)},
		} {
			_, a, err := Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := enc.Append([]byte("x"), e); !bytes.Equal(c[1:], a) {
				t.Fatalf("Encoder and Encode disagree\nEncoder %s\nEncode  %s", c[1:], a)
			}
			_, b, err := refEncode(e)
			if err != nil {
				return // encoding/json refuses some times (years beyond 9999); so may we write them: no claim
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("encoders disagree\nnew %s\nref %s", a, b)
			}
		}
	})
}

// parseUTC's own calendar arithmetic agrees with the time package on every
// day from year 0 to 9999, and on the instants around them.
func TestParseUTCMatchesTimeParse(t *testing.T) {
	day := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for ; day.Before(end); day = day.AddDate(0, 0, 1) {
		for _, t0 := range []time.Time{day, day.Add(23*time.Hour + 59*time.Minute + 59*time.Second + 999999999)} {
			text := t0.Format(time.RFC3339Nano)
			got, ok := parseUTC([]byte(text))
			if !ok || !got.Equal(t0) {
				t.Fatalf("parseUTC(%s) = %v %v", text, got, ok)
			}
		}
	}
	for _, bad := range []string{"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z"} {
		if _, ok := parseUTC([]byte(bad)); ok {
			t.Errorf("parseUTC(%s) accepted", bad)
		}
	}
}

// FuzzDecoderRemembers: a Decoder that has read other payloads first, whose
// fast path then matches bytes against what it remembers, gives what a
// fresh Decoder gives for the last payload, event and error alike, through
// Decode and DecodeTransient.
func FuzzDecoderRemembers(f *testing.F) {
	when := time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC)
	m := Meta{Pool: "train-a", Account: "acme", At: when, Command: "c-1"}
	var seeds [][]byte
	for _, e := range []Event{
		&NodeAdded{Meta: m, Node: "n-0001", AZ: "az1"},
		&NodeAdded{Meta: m, Node: "n-0002", AZ: "az2"},
		&NodeRemoved{Meta: m, Node: "n-0001"},
		&NodeAdded{Meta: Meta{Pool: "train-a", Account: "acme", At: when.Add(time.Second), Command: "c-12"}, Node: "n-0003", AZ: "az-long-name"},
		&NodeAdded{Meta: Meta{Pool: `q"`, Account: "a\\b", At: when, Command: "c-1"}, Node: "n\"1", AZ: `a"`},
	} {
		_, data, _ := Encode(e)
		seeds = append(seeds, data)
	}
	for i := range seeds {
		for j := range seeds {
			f.Add(TypeNodeAdded, seeds[i], TypeNodeAdded, seeds[j], TypeNodeRemoved, seeds[(i+j)%len(seeds)])
		}
	}
	// Other types share the head with node events, and are read on from it.
	for _, e := range []Event{
		&StockTaken{Meta: m, Flavor: "f", Region: "r", Nodes: 2},
		&QuotaUsed{Meta: m, Flavor: "f", Nodes: 2},
		&StatusChanged{Meta: m, From: StatusRunning, To: StatusExpired, Reason: ReasonExpired},
		&Charged{Meta: Meta{Account: "acme", At: when, Command: "c-1"}, Amount: MustMoney("1.5")},
		&Charged{Meta: Meta{Account: "acme", At: when, Command: "c-1"}, Amount: MustMoney("1.50")},
		&Renewed{Meta: m, Term: Term{Start: when, End: when.AddDate(0, 1, 0), Months: 1}, Charge: MustMoney("1.5"), ListPrice: MustMoney("15")},
	} {
		typ, data, _ := Encode(e)
		f.Add(TypeNodeAdded, seeds[0], typ, data, typ, data)
		f.Add(typ, data, TypeNodeAdded, seeds[1], typ, data)
		f.Add(typ, data, TypeNodeAdded, seeds[1], typ, append(data[:len(data)-1:len(data)-1], `,"x":1}`...))
	}
	f.Add(TypeNodeAdded, seeds[0], TypeNodeAdded, []byte(`{"v":1,"pool":"train-a","account":"acme","at":"2026-01-31T02:00:00Z","command":"c-1"","az":"az1","node":"x"}`),
		TypeNodeAdded, []byte(`{"v":1,"pool":"train-a","account":"acme","at":"2026-01-31T02:00:00Z","command":"c-1","az":"az1"","node":"x"}`))
	f.Fuzz(func(t *testing.T, t1 string, d1 []byte, t2 string, d2 []byte, t3 string, d3 []byte) {
		want, werr := Decode(t3, d3)
		for _, mode := range []string{"remembering", "transient", "rewound"} {
			var d Decoder
			dec := d.Decode
			if mode == "transient" {
				dec = d.DecodeTransient
			}
			_, _ = dec(t1, d1)
			if mode == "rewound" {
				d.Rewind() // the first: slabs are kept from now on
			}
			first, _ := dec(t2, d2)
			var firstData []byte
			if first != nil {
				_, firstData, _ = Encode(first)
			}
			if mode == "rewound" {
				d.Rewind() // t3 may reuse the memory of t2's event
			}
			got, gerr := dec(t3, d3)
			if mode == "rewound" && first != nil {
				// What t2 decoded to must not have been half overwritten:
				// it is either intact or wholly t3's (the same slab slot).
				_, now, _ := Encode(first)
				if !bytes.Equal(now, firstData) && (got == nil || first != got) {
					t.Fatalf("rewound: an event changed without being handed out again:\n%s\nwas\n%s", now, firstData)
				}
			}
			if (gerr == nil) != (werr == nil) {
				t.Fatalf("%s: after two payloads error %v, fresh error %v, for\n%s", mode, gerr, werr, d3)
			}
			if werr != nil {
				continue
			}
			_, a, _ := Encode(got)
			_, b, _ := Encode(want)
			if !bytes.Equal(a, b) {
				t.Fatalf("%s: after two payloads\n%s\nfresh\n%s", mode, a, b)
			}
		}
	})
}
