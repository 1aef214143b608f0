package respooltest

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/leanovate/gopter"

	"github.com/respool/respool/domain"
)

// Zones are the billing zones GenPolicy draws from: the default UTC+08:00,
// UTC, and fixed offsets whose clock hours do not fall on UTC hours
// (+05:30, +05:45, -09:30) or whose days are furthest from UTC's (+14:00,
// -12:00). All are fixed offsets, as a billing calendar needs (SPEC
// section 1).
func Zones() []*time.Location {
	return []*time.Location{
		domain.DefaultZone(),
		time.FixedZone("UTC", 0),
		time.FixedZone("UTC+05:30", 5*3600+30*60),
		time.FixedZone("UTC+05:45", 5*3600+45*60),
		time.FixedZone("UTC-09:30", -(9*3600 + 30*60)),
		time.FixedZone("UTC+14:00", 14*3600),
		time.FixedZone("UTC-12:00", -12*3600),
	}
}

// PolicyOptions tune GenPolicy. The zero value varies everything.
type PolicyOptions struct {
	// DefaultZone keeps the billing zone at its default (UTC+08:00).
	DefaultZone bool
	// Zones, if set, replaces Zones() as the zones drawn from.
	Zones []*time.Location
	// DefaultMonths keeps the allowed prepaid durations at their defaults
	// (R7).
	DefaultMonths bool
}

func genPolicy(r *rand.Rand, o PolicyOptions) domain.Policy {
	var p domain.Policy
	if r.Intn(3) == 0 { // the defaults, a third of the time
		return p
	}
	if !o.DefaultZone {
		zs := o.Zones
		if zs == nil {
			zs = Zones()
		}
		if r.Intn(2) == 0 {
			p.Zone = zs[r.Intn(len(zs))]
		}
	}
	if r.Intn(2) == 0 {
		p.RenewDaysBefore = domain.Int(r.Intn(8)) // R24: 0 to 7
	}
	short := []int{0, 1, 2, 3, 15, 30}
	if r.Intn(2) == 0 {
		p.GraceDays = domain.Int(short[r.Intn(len(short))]) // R26
	}
	if r.Intn(2) == 0 {
		p.RetentionDays = domain.Int(short[r.Intn(len(short))])
	}
	if r.Intn(2) == 0 {
		p.Rounding = domain.RoundHalfEven // R30
	}
	if !o.DefaultMonths && r.Intn(6) == 0 { // R7: the set is policy data
		sets := [][]int{{1, 3, 6, 12}, {1, 12, 24, 36}, {2, 11, 13}}
		p.TrainingMonths = sets[r.Intn(len(sets))]
		p.DeploymentMonths = sets[r.Intn(len(sets))]
	}
	if r.Intn(6) == 0 { // R9
		p.PrepaidDeploymentRegions = []string{RegionPrepaidDeployment, RegionOther}
	}
	return p
}

// GenPolicy generates policies (domain.Policy) that pass Validate: the
// defaults a third of the time, otherwise any mix of a billing zone from
// Zones, renewal lead days 0 to 7 (R24), grace and retention of 0 to 30
// days (R26), half-even rounding (R30), other prepaid durations (R7) and
// prepaid deployment regions (R9).
func GenPolicy(o PolicyOptions) gopter.Gen {
	return fromRand(func(r *rand.Rand) domain.Policy { return genPolicy(r, o) })
}

// GenZone generates billing zones from Zones, the default most often.
func GenZone() gopter.Gen {
	return fromRand(func(r *rand.Rand) *time.Location {
		zs := Zones()
		if r.Intn(3) == 0 {
			return zs[0]
		}
		return zs[r.Intn(len(zs))]
	})
}

// DescribePolicy is a one-line account of the settings of p that differ
// from the defaults ("defaults" if none).
func DescribePolicy(p domain.Policy) string {
	var parts []string
	if p.Zone != nil {
		parts = append(parts, "zone "+zoneName(p.Zone))
	}
	if p.RenewDaysBefore != nil {
		parts = append(parts, fmt.Sprintf("renew %d days before", *p.RenewDaysBefore))
	}
	if p.GraceDays != nil {
		parts = append(parts, fmt.Sprintf("grace %d days", *p.GraceDays))
	}
	if p.RetentionDays != nil {
		parts = append(parts, fmt.Sprintf("retention %d days", *p.RetentionDays))
	}
	if p.Rounding != domain.RoundHalfUp {
		parts = append(parts, "rounding "+p.Rounding.String())
	}
	if p.TrainingMonths != nil {
		parts = append(parts, fmt.Sprintf("training months %v", p.TrainingMonths))
	}
	if p.DeploymentMonths != nil {
		parts = append(parts, fmt.Sprintf("deployment months %v", p.DeploymentMonths))
	}
	if p.PrepaidDeploymentRegions != nil {
		parts = append(parts, fmt.Sprintf("prepaid deployment in %v", p.PrepaidDeploymentRegions))
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, ", ")
}

func zoneName(loc *time.Location) string {
	_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%s (%c%02d:%02d)", loc.String(), sign, off/3600, off/60%60)
}
