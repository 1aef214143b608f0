package domain_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// samples has one event of every type, with every field set.
func samples() []domain.Event {
	when := time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC)
	m := domain.Meta{Pool: "train-a", Account: "acme", At: when, Command: "cmd-1"}
	am := domain.Meta{Account: "acme", At: when, Command: "cmd-2"}
	px := domain.Prices{Currency: "CNY", Hourly: domain.MustMoney("12.50"), Monthly: domain.MustMoney("6200"), Yearly: domain.MustMoney("62000")}
	term := domain.Term{Start: when, End: time.Date(2026, 2, 28, 16, 0, 0, 0, time.UTC), Months: 1}
	return []domain.Event{
		&domain.Created{Meta: m, Name: "train_a", Description: "nightly \"jobs\" ✓", Type: domain.Deployment, Billing: domain.Prepaid,
			Flavor: "modelarts.vm.gpu.t4u8", Kind: domain.GPU, Region: "cn-north-4", AZ: "random",
			Network: &domain.Network{VPC: "v1", Subnet: "s1", SecurityGroup: "g1"}, Prices: px, Nodes: 2,
			Term: term, Charge: domain.MustMoney("12400"), ListPrice: domain.MustMoney("12400"), AutoRenew: true},
		&domain.NodeAdded{Meta: m, Node: "n-0001", AZ: "az1"},
		&domain.NodeRemoved{Meta: m, Node: "n-0001"},
		&domain.Renewed{Meta: m, Term: term, Charge: domain.MustMoney("124000"), ListPrice: domain.MustMoney("148800"), Automatic: true},
		&domain.RenewalFailed{Meta: m, Months: 1, Charge: domain.MustMoney("6200"), Reason: domain.CodeInsufficientBalance},
		&domain.AutoRenewalChanged{Meta: m, On: true, Months: 3},
		&domain.StatusChanged{Meta: m, From: domain.StatusRunning, To: domain.StatusExpired, Reason: domain.ReasonExpired},
		&domain.Deleted{Meta: m, Reason: domain.ReasonUser},
		&domain.AccountOpened{Meta: am, Quota: map[domain.FlavorID]int{"modelarts.vm.gpu.t4u8": 16}, Limited: true, Balance: domain.MustMoney("100000")},
		&domain.QuotaUsed{Meta: m, Flavor: "modelarts.vm.gpu.t4u8", Nodes: 2},
		&domain.QuotaFreed{Meta: m, Flavor: "modelarts.vm.gpu.t4u8", Nodes: 1},
		&domain.Charged{Meta: m, Amount: domain.MustMoney("12400")},
		&domain.Refunded{Meta: m, Amount: domain.MustMoney("12400")},
		&domain.ToppedUp{Meta: am, Amount: domain.MustMoney("500.25")},
		&domain.RateChanged{Meta: m, Rate: domain.MustMoney("25")},
		&domain.ArrearsStarted{Meta: am},
		&domain.ArrearsCleared{Meta: am},
		&domain.StockTaken{Meta: m, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 2},
		&domain.StockReturned{Meta: m, Flavor: "modelarts.vm.gpu.t4u8", Region: "cn-north-4", Nodes: 2},
	}
}

// STYLE 7: every event type's JSON is pinned by a golden file; a drift in
// the stored format fails here.
func TestCodecGoldenFiles(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range samples() {
		typ, data, err := domain.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if typ != e.EventType() || seen[typ] {
			t.Fatalf("type %s", typ)
		}
		seen[typ] = true
		path := filepath.Join("testdata", "events", typ+".json")
		if *update {
			if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./domain -run Golden -update to create it)", err)
		}
		if !bytes.Equal(append(data, '\n'), want) {
			t.Errorf("%s drifted from its golden file:\n got %s\nwant %s", typ, data, want)
		}
		back, err := domain.Decode(typ, want)
		if err != nil {
			t.Fatalf("decode golden %s: %v", typ, err)
		}
		_, again, _ := domain.Encode(back)
		if !bytes.Equal(again, data) {
			t.Errorf("%s does not survive a round trip:\n got %s\nwant %s", typ, again, data)
		}
	}
	if len(seen) != 19 {
		t.Fatalf("%d event types sampled", len(seen))
	}
}

// Instants keep their meaning through the codec, whatever their zone.
func TestCodecKeepsInstants(t *testing.T) {
	when := at(2026, 2, 29-1, 23, 59, 59).Add(123456 * time.Nanosecond)
	typ, data, _ := domain.Encode(&domain.NodeAdded{Meta: domain.Meta{Pool: "p", Account: "a", At: when, Command: "c"}, Node: "n-0001"})
	e, err := domain.Decode(typ, data)
	if err != nil || !e.EventMeta().At.Equal(when) {
		t.Fatalf("%v %v", e, err)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, tt := range []struct{ typ, data string }{
		{"pool.node_added", ``},
		{"pool.node_added", `{`},
		{"pool.node_added", `[]`},
		{"pool.node_added", `{"v":2,"pool":"p","account":"a","at":"2026-01-01T00:00:00Z","command":"c"}`},
		{"pool.node_added", `{"v":1,"account":"a","at":"2026-01-01T00:00:00Z","command":"c"}`},
		{"pool.node_added", `{"v":1,"pool":"p","account":"a","at":"2026-01-01T00:00:00Z","command":"c","color":"red"}`},
		{"pool.node_added", `{"v":1,"pool":"p","account":"a","at":"yesterday","command":"c"}`},
		{"pool.exploded", `{"v":1,"pool":"p","account":"a","at":"2026-01-01T00:00:00Z","command":"c"}`},
		{"account.charged", `{"v":1,"account":"a","at":"2026-01-01T00:00:00Z","command":"c","amount":"-5"}`},
		{"pool.node_added", `{"v":1,"pool":"p","account":"a","at":"2026-01-01T00:00:00Z","command":"c"} {}`},
	} {
		if _, err := domain.Decode(tt.typ, []byte(tt.data)); !errors.Is(err, domain.ErrDecode) {
			t.Errorf("Decode(%s, %q) = %v, want ErrDecode", tt.typ, tt.data, err)
		}
	}
}

// FuzzDecode: no input panics; what decodes re-encodes to something that
// decodes to the same bytes.
func FuzzDecode(f *testing.F) {
	for _, e := range samples() {
		typ, data, _ := domain.Encode(e)
		f.Add(typ, data)
	}
	f.Add("pool.created", []byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		e, err := domain.Decode(typ, data)
		if err != nil {
			if !errors.Is(err, domain.ErrDecode) {
				t.Fatalf("error %v does not wrap ErrDecode", err)
			}
			return
		}
		typ2, data2, err := domain.Encode(e)
		if err != nil {
			t.Fatalf("decoded %T does not encode: %v", e, err)
		}
		e3, err := domain.Decode(typ2, data2)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, data2)
		}
		_, data3, _ := domain.Encode(e3)
		if !bytes.Equal(data2, data3) {
			t.Fatalf("unstable round trip:\n%s\n%s", data2, data3)
		}
	})
}

// TestDecoderRewind decodes runs of every event type with a Rewind between
// runs, as a rebuild's batches do: each run decodes to what was encoded,
// strings kept from earlier runs still read the same, and once the slabs
// are warm a run allocates no events.
func TestDecoderRewind(t *testing.T) {
	type rec struct {
		typ  string
		data []byte
	}
	var log []rec
	for i := range 300 { // runs that differ: nodes, pools and amounts change
		for _, e := range samples() {
			if n, ok := e.(*domain.NodeAdded); ok {
				c := *n
				c.Node = domain.NodeID(fmt.Sprintf("n-%04d", i))
				c.Pool = domain.PoolID(fmt.Sprintf("p-%d", i%7))
				e = &c
			}
			typ, data, err := domain.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			log = append(log, rec{typ, data})
		}
	}
	var d domain.Decoder
	var kept []string // node ids and pools kept across runs
	var want []string
	const run = 1500 // about 80 events of each type: more than a slab array holds
	for start := 0; start < len(log); start += run {
		var evs []domain.Event
		for _, r := range log[start:min(start+run, len(log))] {
			e, err := d.Decode(r.typ, r.data)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
			if n, ok := e.(*domain.NodeAdded); ok {
				kept = append(kept, string(n.Node), string(n.Pool))
				want = append(want, strings.Clone(string(n.Node)), strings.Clone(string(n.Pool)))
			}
		}
		for i, e := range evs { // the whole run is intact until the Rewind
			_, data, _ := domain.Encode(e)
			if r := log[start+i]; !bytes.Equal(data, r.data) {
				t.Fatalf("event %d of the run at %d decoded to\n%s\nwant\n%s", i, start, data, r.data)
			}
		}
		d.Rewind()
	}
	for i := range kept {
		if kept[i] != want[i] {
			t.Fatalf("string %d kept from an earlier run reads %q, want %q", i, kept[i], want[i])
		}
	}
	// Warm: the node events of a run reuse the memory of the run before.
	nodes := log[1:3] // NodeAdded, NodeRemoved
	allocs := testing.AllocsPerRun(100, func() {
		for range 32 {
			for _, r := range nodes {
				if _, err := d.Decode(r.typ, r.data); err != nil {
					t.Fatal(err)
				}
			}
		}
		d.Rewind()
	})
	if allocs != 0 {
		t.Errorf("a rewound run of 64 node events made %v allocations, want 0", allocs)
	}
}

// TestEventTypesListsEveryType checks EventTypes against samples, which has
// one event of every type (the golden files pin each).
func TestEventTypesListsEveryType(t *testing.T) {
	var want []string
	for _, e := range samples() {
		want = append(want, e.EventType())
	}
	got := domain.EventTypes()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("EventTypes() = %v, want every sample's type in order: %v", got, want)
	}
}
