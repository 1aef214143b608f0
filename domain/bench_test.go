package domain_test

import (
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

// BenchmarkDecodeNodeAdded decodes the most common event with one Decoder,
// as a rebuild does.
func BenchmarkDecodeNodeAdded(b *testing.B) {
	_, data, _ := domain.Encode(&domain.NodeAdded{Meta: domain.Meta{Pool: "train-a", Account: "acme",
		At: time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC), Command: "scale-42"}, Node: "n-0042", AZ: "az2"})
	var d domain.Decoder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(domain.TypeNodeAdded, data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeNodeAdded encodes it into a reused buffer, as Service does.
func BenchmarkEncodeNodeAdded(b *testing.B) {
	e := &domain.NodeAdded{Meta: domain.Meta{Pool: "train-a", Account: "acme",
		At: time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC), Command: "scale-42"}, Node: "n-0042", AZ: "az2"}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = domain.AppendEncode(buf[:0], e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvolveNodeAdded folds node events into a pool.
func BenchmarkEvolveNodeAdded(b *testing.B) {
	e := &domain.NodeAdded{Meta: domain.Meta{Pool: "train-a", Account: "acme",
		At: time.Date(2026, 1, 31, 2, 0, 0, 0, time.UTC), Command: "scale-42"}, Node: "n-0042", AZ: "az2"}
	var p domain.Pool
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%1000 == 0 {
			p = domain.Pool{}
		}
		p.Evolve(e, domain.Policy{})
	}
}
