package properties_test

import (
	"context"
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the host zones below, on machines without a zone database

	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"

	"github.com/respool/respool/respooltest"
)

// hostZones are the host time zones property 16 runs under: CI's three,
// and zones with half- and quarter-hour offsets, daylight saving on both
// sides of the date line, and the date line itself.
var hostZones = []string{"UTC", "America/Los_Angeles", "Asia/Shanghai", "Asia/Kathmandu", "Pacific/Chatham",
	"America/St_Johns", "Australia/Lord_Howe", "Pacific/Kiritimati", "Pacific/Pago_Pago"}

// inZone returns the timeline with every instant expressed in loc: the same
// instants, as a caller in another zone would pass them.
func inZone(tl respooltest.Timeline, loc *time.Location) respooltest.Timeline {
	tl.Start, tl.End = tl.Start.In(loc), tl.End.In(loc)
	tl.Steps = append([]respooltest.Step(nil), tl.Steps...)
	for i := range tl.Steps {
		tl.Steps[i].At = tl.Steps[i].At.In(loc)
	}
	return tl
}

// Property 16 (section 1, "results never depend on the host's TZ"): the
// same timeline gives byte-identical events, the same rejections and the
// same answers from every projection whatever the host's local zone
// (time.Local) and whatever zone the caller's instants are written in. CI
// also runs the whole suite under TZ=UTC, America/Los_Angeles and
// Asia/Shanghai.
func TestProperty16_HostZoneIndependent(t *testing.T) {
	var zones []*time.Location
	for _, name := range hostZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("zone %s: %v", name, err)
		}
		zones = append(zones, loc)
	}
	saved := time.Local
	defer func() { time.Local = saved }()
	check(t, prop.ForAll(func(tl respooltest.Timeline, a, b, c uint8) (string, error) {
		defer watchdog(tl.String)()
		ctx := context.Background()
		time.Local = saved
		want, err := respooltest.Execute(ctx, tl)
		if err != nil {
			return "", err
		}
		at := []time.Time{tl.Start, tl.End}
		for _, s := range tl.Steps {
			at = append(at, s.At)
		}
		wantViews := viewsOf(&projSet{nl: want.Nodes, ch: want.Charges, inv: want.Inventory}, want.PoolIDs(), want.AccountIDs(), at, true)
		for _, pick := range [][2]uint8{{a, b}, {b, c}, {c, a}} {
			host, caller := zones[int(pick[0])%len(zones)], zones[int(pick[1])%len(zones)]
			time.Local = host
			got, err := respooltest.Execute(ctx, inZone(tl, caller))
			time.Local = saved
			if err != nil {
				return "", err
			}
			where := fmt.Sprintf("host zone %s, instants written in %s", host, caller)
			if msg := sameLog(want.Log, got.Log); msg != "" {
				return where + ": the log differs: " + msg, nil
			}
			for i := range want.Results {
				if want.Results[i].Code() != got.Results[i].Code() {
					return fmt.Sprintf("%s: step %d: %s, under %s: %s", where, i, got.Results[i], saved, want.Results[i]), nil
				}
			}
			time.Local = host
			gotViews := viewsOf(&projSet{nl: got.Nodes, ch: got.Charges, inv: got.Inventory}, got.PoolIDs(), got.AccountIDs(), at, true)
			time.Local = saved
			if d := diff(wantViews, gotViews); d != "" {
				return where + ": the projections say otherwise: " + d, nil
			}
		}
		return "", nil
	}, genTimeline(respooltest.TimelineOptions{MaxPools: 3, MaxSpan: 60 * 24 * time.Hour}), gen.UInt8(), gen.UInt8(), gen.UInt8()))
}
