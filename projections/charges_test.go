package projections_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // for the clock change of America/New_York

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/projections/internal/gen"
)

// TestR28PayPerUseAccrual checks the pay-per-use accrual per node per second
// (R28): price per hour x seconds alive / 3600, exact, from a node's
// addition to its removal, the pool's deletion or the retention freeze.
// Prices are 3.60 per node-hour: 0.001 per node-second.
func TestR28PayPerUseAccrual(t *testing.T) {
	t.Parallel()
	const t0 = "2026-03-10T10:00:00+08:00"
	tests := []struct {
		name  string
		write func(t *testing.T, b *gen.Builder)
		asOf  string
		want  string // Hourly x node-seconds, exactly
	}{
		{"one node one hour", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
		}, "2026-03-10T11:00:00+08:00", "12960"},
		{"per second", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
		}, "2026-03-10T10:00:01+08:00", "3.6"},
		{"whole seconds only", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
		}, "2026-03-10T10:00:01.999+08:00", "3.6"},
		{"before creation", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
		}, "2026-03-10T09:00:00+08:00", "0"},
		{"node added and removed in the same second costs nothing", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.ScaleOut(at(t, "2026-03-10T10:30:00.2+08:00"), "p1", 1)
			b.ScaleIn(at(t, "2026-03-10T10:30:00.7+08:00"), "p1", 1)
		}, "2026-03-10T11:00:00+08:00", "12960"},
		{"node added and removed at the same instant costs nothing", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.ScaleOut(at(t, "2026-03-10T10:30:00+08:00"), "p1", 3)
			b.ScaleIn(at(t, "2026-03-10T10:30:00+08:00"), "p1", 3)
		}, "2026-03-10T11:00:00+08:00", "12960"},
		{"pool whose only node came and went in one second", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T10:00:00.9+08:00"), "p1")
		}, "2026-03-10T11:00:00+08:00", "0"},
		{"scale in", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 2, px3600)
			b.ScaleIn(at(t, "2026-03-10T10:30:00+08:00"), "p1", 1)
		}, "2026-03-10T11:00:00+08:00", "19440"}, // 3.6 x (2x1800 + 1800)
		{"scale out", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.ScaleOut(at(t, "2026-03-10T10:15:00+08:00"), "p1", 2)
		}, "2026-03-10T10:30:00+08:00", "12960"}, // 3.6 x (900 + 3x900)
		{"frozen stops accrual", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Freeze(at(t, "2026-03-10T10:15:00+08:00"), "p1")
		}, "2026-03-12T00:00:00+08:00", "3240"},
		{"frozen then resumed", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Freeze(at(t, "2026-03-10T10:15:00+08:00"), "p1")
			b.Thaw(at(t, "2026-03-10T11:00:00+08:00"), "p1")
		}, "2026-03-10T12:00:00+08:00", "16200"}, // 3.6 x (900 + 3600)
		{"nodes added while frozen accrue once resumed", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Freeze(at(t, "2026-03-10T10:00:00+08:00"), "p1")
			b.ScaleOut(at(t, "2026-03-10T10:10:00+08:00"), "p1", 1)
			b.Thaw(at(t, "2026-03-10T11:00:00+08:00"), "p1")
		}, "2026-03-10T11:00:10+08:00", "72"}, // 3.6 x 2 x 10
		{"deletion ends every node", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 3, px3600)
			b.Delete(at(t, "2026-03-10T10:20:00+08:00"), "p1")
		}, "2026-03-11T00:00:00+08:00", "12960"}, // 3.6 x 3 x 1200
		{"deletion while frozen", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 2, px3600)
			b.Freeze(at(t, "2026-03-10T10:10:00+08:00"), "p1")
			b.Delete(at(t, "2026-03-10T12:00:00+08:00"), "p1")
		}, "2026-03-11T00:00:00+08:00", "4320"}, // 3.6 x 2 x 600
		{"abnormal pools keep accruing (R18)", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Status(at(t, "2026-03-10T10:10:00+08:00"), "p1", domain.StatusAbnormal, domain.ReasonFault)
		}, "2026-03-10T11:00:00+08:00", "12960"},
		{"pools in grace keep accruing (R27)", func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, t0), "acme", "p1", 1, px3600)
			b.Status(at(t, "2026-03-10T10:10:00+08:00"), "p1", domain.StatusExpired, domain.ReasonArrears)
		}, "2026-03-10T11:00:00+08:00", "12960"},
		{"prepaid pools accrue nothing per use", func(t *testing.T, b *gen.Builder) {
			b.CreatePrepaid(at(t, t0), "acme", "p1", 2, 1, false)
		}, "2026-03-20T00:00:00+08:00", "0"},
		{"a price that does not divide by 3600 stays exact", func(t *testing.T, b *gen.Builder) {
			b.Create(at(t, t0), "acme", "p1", 1) // 12.50 per hour
		}, "2026-03-10T10:00:07+08:00", "87.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := build(t, domain.Policy{}, func(b *gen.Builder) { tc.write(t, b) })
			a, ok := s.ch.AsOf("p1", at(t, tc.asOf))
			if !ok {
				t.Fatal("pool p1 unknown")
			}
			if got := a.PayPerUse.PriceSeconds(); !got.Equal(decimal.RequireFromString(tc.want)) {
				t.Errorf("R28: accrued %s price-seconds as of %s, want %s", got, tc.asOf, tc.want)
			}
		})
	}
}

// TestR28AccrualIsExact checks that 12.50 per hour for 7 seconds is kept as
// the exact fraction and rounded only when asked.
func TestR28AccrualIsExact(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1)
	})
	a, _ := s.ch.AsOf("p1", at(t, "2026-03-10T10:00:07+08:00"))
	// 12.5 x 7 / 3600 = 0.024305555...
	if got := a.PayPerUse.Money(8, domain.RoundHalfUp).String(); got != "0.02430556" {
		t.Errorf("R28: 8 places = %s, want 0.02430556", got)
	}
	if got := a.Total(2, domain.RoundHalfUp).String(); got != "0.02" {
		t.Errorf("R28: total = %s, want 0.02", got)
	}
}

// TestR29HourlyRecords checks hourly settlement records (R29): one per
// pool per clock hour of the billing zone, never spanning an hour boundary,
// 8 decimal places.
func TestR29HourlyRecords(t *testing.T) {
	t.Parallel()
	ist := time.FixedZone("UTC+05:30", 5*3600+1800)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		hour    string
		seconds int64
		amount  string
		open    bool
	}
	tests := []struct {
		name     string
		pol      domain.Policy
		px       domain.Prices
		write    func(t *testing.T, b *gen.Builder)
		from, to string
		want     []rec
	}{
		{"boundaries at :00 of UTC+08:00", domain.Policy{}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:30:00+08:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T12:15:00+08:00"), "p1")
		}, "2026-03-10T00:00:00+08:00", "2026-03-11T00:00:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 1800, "1.8", false},
			{"2026-03-10T11:00:00+08:00", 3600, "3.6", false},
			{"2026-03-10T12:00:00+08:00", 900, "0.9", false},
		}},
		{"boundaries at :00 of UTC+05:30 fall at :30 UTC", domain.Policy{Zone: ist}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00Z"), "acme", "p1", 1, px3600) // 15:30 local
			b.Delete(at(t, "2026-03-10T11:00:00Z"), "p1")                      // 16:30 local
		}, "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z", []rec{
			{"2026-03-10T15:00:00+05:30", 1800, "1.8", false},
			{"2026-03-10T16:00:00+05:30", 1800, "1.8", false},
		}},
		{"a zone's clock change: 02:00 does not exist on 8 March 2026 in New York", domain.Policy{Zone: ny}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-07T22:00:00-05:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-08T05:00:00-04:00"), "p1")
		}, "2026-03-07T00:00:00-05:00", "2026-03-09T00:00:00-04:00", []rec{
			{"2026-03-07T22:00:00-05:00", 3600, "3.6", false},
			{"2026-03-07T23:00:00-05:00", 3600, "3.6", false},
			{"2026-03-08T00:00:00-05:00", 3600, "3.6", false},
			{"2026-03-08T01:00:00-05:00", 3600, "3.6", false},
			{"2026-03-08T03:00:00-04:00", 3600, "3.6", false},
			{"2026-03-08T04:00:00-04:00", 3600, "3.6", false},
		}},
		{"a node added in the hour before the clock jumps", domain.Policy{Zone: ny}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-08T01:30:00-05:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-08T03:30:00-04:00"), "p1")
		}, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", []rec{
			{"2026-03-08T01:00:00-05:00", 1800, "1.8", false},
			{"2026-03-08T03:00:00-04:00", 1800, "1.8", false},
		}},
		{"the same hour in a UTC zone is one record", domain.Policy{Zone: time.UTC}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00Z"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T11:00:00Z"), "p1")
		}, "2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z", []rec{
			{"2026-03-10T10:00:00Z", 3600, "3.6", false},
		}},
		{"hours without nodes have no record", domain.Policy{}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
			b.Freeze(at(t, "2026-03-10T10:30:00+08:00"), "p1")
			b.Thaw(at(t, "2026-03-10T13:15:00+08:00"), "p1")
		}, "2026-03-10T00:00:00+08:00", "2026-03-10T14:00:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 1800, "1.8", false},
			{"2026-03-10T13:00:00+08:00", 2700, "2.7", false},
		}},
		{"8 places, rounded half up", domain.Policy{}, gen.Prices, func(t *testing.T, b *gen.Builder) {
			b.Create(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1) // 12.50 per hour
			b.Delete(at(t, "2026-03-10T10:00:07+08:00"), "p1")
		}, "2026-03-10T00:00:00+08:00", "2026-03-11T00:00:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 7, "0.02430556", false}, // 0.0243055555...
		}},
		{"8 places at an exact half: half up", domain.Policy{}, priced("0.00009"), func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, priced("0.00009"))
			b.Delete(at(t, "2026-03-10T10:00:01+08:00"), "p1")
		}, "2026-03-10T00:00:00+08:00", "2026-03-11T00:00:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 1, "0.00000003", false}, // 0.000000025
		}},
		{"8 places at an exact half: half even", domain.Policy{Rounding: domain.RoundHalfEven}, priced("0.00009"), func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, priced("0.00009"))
			b.Delete(at(t, "2026-03-10T10:00:01+08:00"), "p1")
		}, "2026-03-10T00:00:00+08:00", "2026-03-11T00:00:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 1, "0.00000002", false},
		}},
		{"the hour in progress is an open record", domain.Policy{}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:30:00+08:00"), "acme", "p1", 2, px3600)
		}, "2026-03-10T10:00:00+08:00", "2026-03-10T11:20:00+08:00", []rec{
			{"2026-03-10T10:00:00+08:00", 3600, "3.6", false},
			{"2026-03-10T11:00:00+08:00", 2400, "2.4", true},
		}},
		{"from inside an hour starts at that hour", domain.Policy{}, px3600, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
		}, "2026-03-10T11:59:59+08:00", "2026-03-10T13:00:00+08:00", []rec{
			{"2026-03-10T11:00:00+08:00", 3600, "3.6", false},
			{"2026-03-10T12:00:00+08:00", 3600, "3.6", false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := build(t, tc.pol, func(b *gen.Builder) { tc.write(t, b) })
			got := s.ch.Records("p1", at(t, tc.from), at(t, tc.to))
			if len(got) != len(tc.want) {
				t.Fatalf("R29: %d records, want %d: %+v", len(got), len(tc.want), got)
			}
			cal := tc.pol.Calendar()
			for i, r := range got {
				w := tc.want[i]
				if !r.Hour.Equal(at(t, w.hour)) || r.NodeSeconds != w.seconds || r.Amount.String() != w.amount || r.Open != w.open {
					t.Errorf("R29: record %d = hour %s, %d node-seconds, %s, open %v; want %s, %d, %s, %v",
						i, r.Hour.Format(time.RFC3339), r.NodeSeconds, r.Amount, r.Open, w.hour, w.seconds, w.amount, w.open)
				}
				if !cal.HourStart(r.Hour).Equal(r.Hour) || r.End.After(nextHour(cal, r.Hour)) {
					t.Errorf("R29: record %d spans [%s, %s), not one clock hour", i, r.Hour, r.End)
				}
				if r.Amount.Decimal().Exponent() < -projections.RecordPlaces {
					t.Errorf("R29: record %d keeps more than 8 places: %s", i, r.Amount)
				}
			}
		})
	}
}

// nextHour is the start of the clock hour after h. The calendar's NextHour
// stays put at a spring-forward gap (02:00 does not exist); the next clock
// hour is then an hour of real time on.
func nextHour(cal domain.Calendar, h time.Time) time.Time {
	if n := cal.NextHour(h); n.After(h) {
		return n
	}
	return cal.HourStart(h.Add(time.Hour))
}

func priced(hourly string) domain.Prices {
	px := px3600
	px.Hourly = domain.MustMoney(hourly)
	return px
}

// TestR29RecordsNameTheirEvents checks that a record names the Created
// event (the price) and the events that set its node counts.
func TestR29RecordsNameTheirEvents(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 2, px3600) // v1 Created, v2-v3 NodeAdded
		b.ScaleOut(at(t, "2026-03-10T11:20:00+08:00"), "p1", 1)                 // v4
		b.ScaleIn(at(t, "2026-03-10T11:40:00+08:00"), "p1", 2)                  // v5-v6
	})
	rs := s.ch.Records("p1", at(t, "2026-03-10T11:00:00+08:00"), at(t, "2026-03-10T12:00:00+08:00"))
	if len(rs) != 1 {
		t.Fatalf("%d records, want 1", len(rs))
	}
	var got []string
	for _, src := range rs[0].Sources {
		got = append(got, fmt.Sprintf("%s v%d..v%d", src.Stream, src.From, src.To))
	}
	want := []string{"pool-p1 v1..v1", "pool-p1 v2..v3", "pool-p1 v4..v4", "pool-p1 v5..v6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sources = %v, want %v", got, want)
	}
	// 2 nodes x 1200 s + 3 x 1200 + 1 x 1200 = 7200 node-seconds
	if rs[0].NodeSeconds != 7200 || rs[0].Amount.String() != "7.2" {
		t.Errorf("record = %d node-seconds, %s; want 7200, 7.2", rs[0].NodeSeconds, rs[0].Amount)
	}
	if rs[0].Sources[1].FromPosition == 0 || rs[0].Sources[1].String() == "" {
		t.Errorf("sources carry no global position: %+v", rs[0].Sources[1])
	}
}

// TestR30BillMonths checks bill months (R30): records and prepaid charges
// in the month of their time in the billing zone, totals rounded to 0.01
// with the policy's rounding, nothing between months.
func TestR30BillMonths(t *testing.T) {
	t.Parallel()
	type month struct{ month, payperuse, prepaid, unrounded, total string }
	tests := []struct {
		name  string
		pol   domain.Policy
		write func(t *testing.T, b *gen.Builder)
		asOf  string
		want  []month
	}{
		{"a month boundary at midnight UTC+08:00 splits what UTC would not", domain.Policy{}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-01-31T23:30:00+08:00"), "acme", "p1", 1, px3600) // 15:30Z
			b.Delete(at(t, "2026-02-01T00:30:00+08:00"), "p1")                      // 16:30Z, still 31 Jan in UTC
		}, "2026-02-02T00:00:00+08:00", []month{
			{"2026-01", "1.8", "0", "1.8", "1.8"},
			{"2026-02", "1.8", "0", "1.8", "1.8"},
		}},
		{"the same interval in a UTC zone is one month", domain.Policy{Zone: time.UTC}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-01-31T23:30:00+08:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-02-01T00:30:00+08:00"), "p1")
		}, "2026-02-02T00:00:00+08:00", []month{
			{"2026-01", "3.6", "0", "3.6", "3.6"},
			{"2026-02", "0", "0", "0", "0"}, // listed up to the month of the as-of instant
		}},
		{"a month total rounds half up", domain.Policy{}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T10:00:05+08:00"), "p1")
		}, "2026-03-31T00:00:00+08:00", []month{{"2026-03", "0.005", "0", "0.005", "0.01"}}},
		{"a month total rounds half even", domain.Policy{Rounding: domain.RoundHalfEven}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T10:00:05+08:00"), "p1")
		}, "2026-03-31T00:00:00+08:00", []month{{"2026-03", "0.005", "0", "0.005", "0"}}},
		{"half even rounds 0.015 up", domain.Policy{Rounding: domain.RoundHalfEven}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
			b.Delete(at(t, "2026-03-10T10:00:15+08:00"), "p1")
		}, "2026-03-31T00:00:00+08:00", []month{{"2026-03", "0.015", "0", "0.015", "0.02"}}},
		{"a prepaid charge belongs to the month of its time", domain.Policy{}, func(t *testing.T, b *gen.Builder) {
			b.CreatePrepaid(at(t, "2026-01-31T23:59:59+08:00"), "acme", "p1", 1, 1, false)
			b.Renew(at(t, "2026-02-01T00:00:00+08:00"), "p1", 1, false) // 31 Jan 16:00Z
		}, "2026-03-01T00:00:00+08:00", []month{
			{"2026-01", "0", "6200", "6200", "6200"},
			{"2026-02", "0", "6200", "6200", "6200"},
			{"2026-03", "0", "0", "0", "0"},
		}},
		{"a month holds every record of its hours, across the month", domain.Policy{}, func(t *testing.T, b *gen.Builder) {
			b.CreateAt(at(t, "2026-02-27T22:00:00+08:00"), "acme", "p1", 2, px3600)
			b.ScaleIn(at(t, "2026-03-01T01:00:00+08:00"), "p1", 1)
		}, "2026-03-01T03:00:00+08:00", []month{
			{"2026-02", "187.2", "0", "187.2", "187.2"}, // 2 nodes x 26 h x 3.6
			{"2026-03", "14.4", "0", "14.4", "14.4"},    // 2 x 1 h + 1 x 2 h
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := build(t, tc.pol, func(b *gen.Builder) { tc.write(t, b) })
			got := s.ch.Months("p1", at(t, tc.asOf))
			if len(got) != len(tc.want) {
				t.Fatalf("R30: %d months, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, m := range got {
				g := month{m.Month.String(), m.PayPerUse.String(), m.Prepaid.String(), m.Unrounded.String(), m.Total.String()}
				if g != tc.want[i] {
					t.Errorf("R30: month %d = %+v, want %+v", i, g, tc.want[i])
				}
			}
		})
	}
}

// TestR30MonthsAddUpToRecords checks, over a long random history, that each
// bill month's unrounded total is exactly the sum of its hourly records and
// prepaid charges, that every record and charge falls in exactly one month
// (nothing between months), and that the account's months are the sums of
// its pools'.
func TestR30MonthsAddUpToRecords(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range []domain.Policy{{}, {Rounding: domain.RoundHalfEven}, {Zone: time.UTC}, {Zone: ny}} {
		t.Run(pol.Calendar().Location().String()+"/"+pol.Rounding.String(), func(t *testing.T) {
			t.Parallel()
			var end time.Time
			s, _ := build(t, pol, func(b *gen.Builder) { end = b.Random(7, 4000) })
			// Far enough that live pools accrue, with no event, across
			// a month's end and New York's clock change of 8 March.
			asOf := at(t, "2026-03-20T00:00:00Z")
			if !end.Before(asOf) {
				t.Fatalf("the history ends on %s, after %s", end, asOf)
			}
			cal := pol.Calendar()
			accounts := map[domain.AccountID]map[domain.BillMonth]decimal.Decimal{}
			for _, p := range s.nl.AllPools() {
				months := s.ch.Months(p.ID, asOf)
				sum := map[domain.BillMonth]decimal.Decimal{}
				count := map[domain.BillMonth]int{}
				for _, r := range s.ch.Records(p.ID, p.Created, asOf) {
					if !r.Month.Before(cal.MonthOf(r.Hour)) && cal.MonthOf(r.Hour).Before(r.Month) {
						t.Fatalf("record of %s is in month %s", r.Hour, r.Month)
					}
					sum[r.Month] = sum[r.Month].Add(r.Amount.Decimal())
					count[r.Month]++
				}
				for _, l := range s.ch.Prepaid(p.ID) {
					sum[l.Month] = sum[l.Month].Add(l.Charge.Decimal())
				}
				seen := 0
				for _, m := range months {
					if !m.Unrounded.Decimal().Equal(sum[m.Month]) {
						t.Errorf("R30: pool %s month %s: unrounded %s, records and charges add up to %s", p.ID, m.Month, m.Unrounded, sum[m.Month])
					}
					if m.Records != count[m.Month] {
						t.Errorf("R30: pool %s month %s: %d records counted, %d listed", p.ID, m.Month, m.Records, count[m.Month])
					}
					if !m.Total.Equal(m.Unrounded.Round(2, pol.Rounding)) {
						t.Errorf("R30: pool %s month %s: total %s is not %s rounded", p.ID, m.Month, m.Total, m.Unrounded)
					}
					if _, ok := sum[m.Month]; ok {
						seen++
					}
					if accounts[p.Account] == nil {
						accounts[p.Account] = map[domain.BillMonth]decimal.Decimal{}
					}
					accounts[p.Account][m.Month] = accounts[p.Account][m.Month].Add(m.Unrounded.Decimal())
				}
				if seen != len(sum) {
					t.Errorf("R30: pool %s: records or charges in %d months, only %d of them listed", p.ID, len(sum), seen)
				}
				// An oracle that shares nothing with Records and Months:
				// each clock hour's amount from the as-of accrual at its
				// two ends (R29), summed per month.
				oracle := map[domain.BillMonth]decimal.Decimal{}
				for h := cal.HourStart(p.Created); h.Before(asOf); h = nextHour(cal, h) {
					a0, _ := s.ch.AsOf(p.ID, h)
					h1 := nextHour(cal, h)
					if h1.After(asOf) {
						h1 = asOf
					}
					a1, _ := s.ch.AsOf(p.ID, h1)
					ps := a1.PayPerUse.PriceSeconds().Sub(a0.PayPerUse.PriceSeconds())
					if ps.Sign() == 0 {
						continue
					}
					amt, _ := domain.MoneyFromDecimal(ps.DivRound(decimal.NewFromInt(3600), 28))
					oracle[cal.MonthOf(h)] = oracle[cal.MonthOf(h)].Add(amt.Round(8, pol.Rounding).Decimal())
				}
				for _, m := range months {
					if !m.PayPerUse.Decimal().Equal(oracle[m.Month]) {
						t.Errorf("R29/R30: pool %s month %s: pay-per-use %s, hour by hour %s", p.ID, m.Month, m.PayPerUse, oracle[m.Month])
					}
				}
			}
			for a, want := range accounts {
				for _, m := range s.ch.AccountMonths(a, asOf) {
					if !m.Unrounded.Decimal().Equal(want[m.Month]) {
						t.Errorf("R30: account %s month %s: %s, pools add up to %s", a, m.Month, m.Unrounded, want[m.Month])
					}
				}
			}
		})
	}
}

// TestR30AccountTotalRoundsOnce checks that an account's month is its own
// unrounded sum rounded once.
func TestR30AccountTotalRoundsOnce(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		for _, p := range []domain.PoolID{"p1", "p2"} {
			b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", p, 1, px3600)
			b.Delete(at(t, "2026-03-10T10:00:04+08:00"), p) // 0.004 each
		}
	})
	asOf := at(t, "2026-03-11T00:00:00+08:00")
	for _, p := range []domain.PoolID{"p1", "p2"} {
		if m := s.ch.Months(p, asOf); m[0].Total.String() != "0" {
			t.Errorf("pool %s total = %s, want 0", p, m[0].Total)
		}
	}
	m := s.ch.AccountMonths("acme", asOf)
	if len(m) != 1 || m[0].Unrounded.String() != "0.008" || m[0].Total.String() != "0.01" {
		t.Errorf("account months = %+v, want one of 0.008 rounded to 0.01", m)
	}
}

// TestPrepaidLines checks prepaid charges: list price and price paid (the
// 1-year package: 12 months for the price of 10), the amortized daily cost,
// renewals, and the events they come from.
func TestPrepaidLines(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.CreatePrepaid(at(t, "2026-01-15T10:00:00+08:00"), "acme", "p1", 2, 12, true)
		b.Renew(at(t, "2027-01-08T03:00:00+08:00"), "p1", 1, true)
	})
	ls := s.ch.Prepaid("p1")
	if len(ls) != 2 {
		t.Fatalf("%d lines, want 2", len(ls))
	}
	year, renewal := ls[0], ls[1]
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %s, want %s", what, got, want)
		}
	}
	check("list price", year.ListPrice.String(), "148800") // 2 x 6200 x 12
	check("price paid", year.Charge.String(), "124000")    // 2 x 62000 (R8)
	check("discount", year.Discount.String(), "24800")     // two months
	check("days", fmt.Sprint(year.Days), "366")            // 15 Jan 2026 to 15 Jan 2027
	check("per day", year.PerDay.String(), "338.79781421") // 124000 / 366
	check("month", year.Month.String(), "2026-01")
	check("renewal", fmt.Sprint(year.Renewal, renewal.Renewal, renewal.Automatic), "false true true")
	check("renewal charge", renewal.Charge.String(), "12400")
	check("renewal discount", renewal.Discount.String(), "0")
	check("renewal days", fmt.Sprint(renewal.Days), "31") // 16 Jan to 15 Feb 2027
	check("renewal month", renewal.Month.String(), "2027-01")
	check("sources", year.Source.String()+" / "+renewal.Source.Stream+fmt.Sprintf(" v%d", renewal.Source.From), "pool-p1 v1 @3 / pool-p1 v4")
	a, _ := s.ch.AsOf("p1", at(t, "2026-12-31T00:00:00+08:00"))
	check("prepaid as of a day in 2026", a.Prepaid.String(), "124000")
	a, _ = s.ch.AsOf("p1", at(t, "2027-01-08T03:00:00+08:00"))
	check("prepaid as of the renewal", a.Prepaid.String(), "136400")
}

// TestPrepaidPerDay checks the amortized cost per day of prepaid charges
// of many sizes and precisions, ties at the 8th place included, against the
// decimal division it stands for: the charge / days to 16 places (a half
// away from zero), then to 8 with the policy's rounding. The amounts too
// large for integer arithmetic are among them.
func TestPrepaidPerDay(t *testing.T) {
	t.Parallel()
	charges := []string{"0", "0.00000001", "0.00000003", "0.000000015", "0.000000025", "1", "0.5", "12.345",
		"124000", "99999999.99999999", "922337203.68547758", "92233720368.547758", "123456789012345678",
		"9223372036854775807", "1234567890123456789012.5", "0.123456789012345678", "7.000000005", "7.000000015"}
	r := rand.New(rand.NewPCG(7, 11))
	for range 300 {
		coef := decimal.NewFromInt(r.Int64N(1 << (1 + r.IntN(62))))
		charges = append(charges, coef.Shift(-int32(r.IntN(13))).String())
	}
	start := at(t, "2026-01-15T10:00:00+08:00")
	for _, mode := range []domain.Rounding{domain.RoundHalfUp, domain.RoundHalfEven} {
		s, _ := build(t, domain.Policy{Rounding: mode}, func(b *gen.Builder) {
			for i, c := range charges {
				// Terms of 1 to 5000 days, some ending within a day.
				days := []int{1, 2, 3, 7, 30, 366, 4999}[i%7] + i%5
				end := start.Add(time.Duration(days)*24*time.Hour - time.Duration(i%3)*time.Hour)
				m := domain.Meta{Pool: domain.PoolID(fmt.Sprint("p", i)), Account: "acme", At: start, Command: domain.CommandID(fmt.Sprint("c", i))}
				b.Append(domain.PoolStream(m.Pool), &domain.Created{Meta: m, Name: "pool", Type: domain.Training,
					Billing: domain.Prepaid, Flavor: gen.Flavor, Kind: domain.GPU, Region: gen.Region, Prices: gen.Prices,
					Term: domain.Term{Start: start, End: end, Months: 1}, Charge: domain.MustMoney(c), ListPrice: domain.MustMoney(c)})
			}
		})
		for i, c := range charges {
			ls := s.ch.Prepaid(domain.PoolID(fmt.Sprint("p", i)))
			if len(ls) != 1 {
				t.Fatalf("%s: %d lines, want 1", c, len(ls))
			}
			l := ls[0]
			q := domain.MustMoney(c).Decimal().DivRound(decimal.NewFromInt(int64(l.Days)), projections.RecordPlaces+8)
			want := q.Round(projections.RecordPlaces)
			if mode == domain.RoundHalfEven {
				want = q.RoundBank(projections.RecordPlaces)
			}
			// The same amount with the same exponent: the same text, too.
			if got := l.PerDay.Decimal(); !got.Equal(want) || got.Exponent() != want.Exponent() {
				t.Errorf("%s: %s / %d days = %s (exponent %d), want %s (exponent %d)", mode, c, l.Days, got, got.Exponent(), want, want.Exponent())
			}
		}
	}
}

// TestPrepaidSums checks the prepaid amount of pools renewed again and
// again, with charges of every precision and size (some beyond int64), as
// of each renewal: the running decimal sum of the charges, to the digit and
// exponent.
func TestPrepaidSums(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 5))
	var pools [][]string
	for i := range 40 {
		var cs []string
		for range 1 + r.IntN(12) {
			switch c := decimal.NewFromInt(r.Int64N(1 << (1 + r.IntN(62)))); {
			case i%10 == 9 && r.IntN(4) == 0:
				cs = append(cs, c.Mul(c).Shift(-int32(r.IntN(9))).String()) // beyond int64
			default:
				cs = append(cs, c.Shift(-int32(r.IntN(13))).String())
			}
		}
		pools = append(pools, cs)
	}
	pools = append(pools, []string{"9223372036854775807", "1", "0.5"}, []string{"0", "0.00", "0.000000000001", "12.5"},
		[]string{"999999999999999999", "999999999999999999", "999999999999999999", "999999999999999999",
			"999999999999999999", "999999999999999999", "999999999999999999", "999999999999999999",
			"999999999999999999", "999999999999999999", "1"},
		[]string{"99999999999999999.9", "922337203685477580", "0.01"})
	start := at(t, "2026-01-15T10:00:00+08:00")
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		for i, cs := range pools {
			id := domain.PoolID(fmt.Sprint("p", i))
			term := domain.Term{Start: start, End: start.Add(24 * time.Hour), Months: 1}
			for k, c := range cs {
				m := domain.Meta{Pool: id, Account: "acme", At: start.Add(time.Duration(k) * time.Hour), Command: domain.CommandID(fmt.Sprint("c", i, "-", k))}
				if k == 0 {
					b.Append(domain.PoolStream(id), &domain.Created{Meta: m, Name: "pool", Type: domain.Training,
						Billing: domain.Prepaid, Flavor: gen.Flavor, Kind: domain.GPU, Region: gen.Region, Prices: gen.Prices,
						Term: term, Charge: domain.MustMoney(c), ListPrice: domain.MustMoney(c)})
					continue
				}
				b.Append(domain.PoolStream(id), &domain.Renewed{Meta: m, Term: term, Charge: domain.MustMoney(c), ListPrice: domain.MustMoney(c)})
			}
		}
	})
	for i, cs := range pools {
		id := domain.PoolID(fmt.Sprint("p", i))
		ls := s.ch.Prepaid(id)
		if len(ls) != len(cs) {
			t.Fatalf("%s: %d lines, want %d", id, len(ls), len(cs))
		}
		var want decimal.Decimal
		for k := range cs {
			// The charges as the log holds them: "0.00" is written "0".
			if c := ls[k].Charge.Decimal(); k == 0 {
				want = c
			} else {
				want = want.Add(c)
			}
			a, _ := s.ch.AsOf(id, start.Add(time.Duration(k)*time.Hour))
			if got := a.Prepaid.Decimal(); !got.Equal(want) || got.Exponent() != want.Exponent() {
				t.Errorf("%s after %v: prepaid %s (exponent %d), want %s (exponent %d)", id, cs[:k+1], got, got.Exponent(), want, want.Exponent())
			}
		}
	}
}

// TestAccountAsOf checks that an account's amount is the sum of its pools'.
func TestAccountAsOf(t *testing.T) {
	t.Parallel()
	s, _ := build(t, domain.Policy{}, func(b *gen.Builder) {
		b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "acme", "p1", 1, px3600)
		b.CreateAt(at(t, "2026-03-10T10:30:00+08:00"), "acme", "p2", 2, px3600)
		b.CreatePrepaid(at(t, "2026-03-10T10:30:00+08:00"), "acme", "p3", 1, 1, false)
		b.CreateAt(at(t, "2026-03-10T10:00:00+08:00"), "other", "p4", 5, px3600)
	})
	a := s.ch.AccountAsOf("acme", at(t, "2026-03-10T11:00:00+08:00"))
	if got := a.Total(2, domain.RoundHalfUp).String(); got != "6207.2" { // 3.6 + 3.6 + 6200
		t.Errorf("account total = %s, want 6207.2", got)
	}
	if got := fmt.Sprint(s.ch.Pools("acme")); got != "[p1 p2 p3]" {
		t.Errorf("pools = %s", got)
	}
}
