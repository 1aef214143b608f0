package domain

import (
	"errors"
	"fmt"
	"time"
)

// Policy holds every setting of the rules (SPEC: "the setting lives in one
// policy value that users can change"). Its zero value means the SPEC's
// defaults; pointer fields are nil for "default" because zero is a valid
// setting of theirs (no grace period, renew on the expiry day itself).
// Call Validate before use; Service does.
type Policy struct {
	// Zone is the billing zone (section 1). nil: a fixed UTC+08:00.
	Zone *time.Location
	// RenewDaysBefore is how many days before the expiry date auto-renewal is
	// first attempted, at 03:00 (R24). nil: 7. Range 0 to 7.
	RenewDaysBefore *int
	// GraceDays and RetentionDays are the lengths of the grace and retention
	// periods after expiry or arrears (R26, R27). nil: 15 each. At least 0.
	GraceDays     *int
	RetentionDays *int
	// Rounding rounds bill months to 0.01 (R30). Zero: half up.
	Rounding Rounding
	// TrainingMonths and DeploymentMonths are the prepaid durations allowed
	// for each pool type (R7). nil: 1 to 12 for training, 1 to 11 for
	// deployment.
	TrainingMonths   []int
	DeploymentMonths []int
	// PrepaidDeploymentRegions are the regions where a prepaid deployment pool
	// can be bought (R9). nil: only cn-north-4.
	PrepaidDeploymentRegions []string
}

// Int returns a pointer to v, for Policy's optional fields.
func Int(v int) *int { return &v }

// The defaults of SPEC.
const (
	DefaultRenewDaysBefore = 7
	DefaultGraceDays       = 15
	DefaultRetentionDays   = 15
)

var (
	defaultTrainingMonths   = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	defaultDeploymentMonths = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	defaultPrepaidDeploy    = []string{"cn-north-4"}
)

// ErrInvalidPolicy is wrapped by every error of Policy.Validate.
var ErrInvalidPolicy = errors.New("invalid policy")

// Validate reports the first setting out of range.
func (p Policy) Validate() error {
	if p.RenewDaysBefore != nil && (*p.RenewDaysBefore < 0 || *p.RenewDaysBefore > 7) {
		return fmt.Errorf("%w: renew_days_before %d: want 0 to 7 (R24)", ErrInvalidPolicy, *p.RenewDaysBefore)
	}
	if p.GraceDays != nil && *p.GraceDays < 0 {
		return fmt.Errorf("%w: grace_days %d: want 0 or more (R26)", ErrInvalidPolicy, *p.GraceDays)
	}
	if p.RetentionDays != nil && *p.RetentionDays < 0 {
		return fmt.Errorf("%w: retention_days %d: want 0 or more (R26)", ErrInvalidPolicy, *p.RetentionDays)
	}
	if p.Rounding > RoundHalfEven {
		return fmt.Errorf("%w: unknown rounding %d (R30)", ErrInvalidPolicy, p.Rounding)
	}
	for _, set := range [][]int{p.TrainingMonths, p.DeploymentMonths} {
		if set != nil && len(set) == 0 {
			return fmt.Errorf("%w: an empty set of prepaid durations allows nothing; leave it unset for the default (R7)", ErrInvalidPolicy)
		}
		for _, m := range set {
			if m < 1 || m > 120 {
				return fmt.Errorf("%w: prepaid duration %d months: want 1 to 120 (R7)", ErrInvalidPolicy, m)
			}
		}
	}
	return nil
}

// Calendar returns the billing calendar of the policy's zone.
func (p Policy) Calendar() Calendar { return NewCalendar(p.Zone) }

// RenewLeadDays is RenewDaysBefore or its default.
func (p Policy) RenewLeadDays() int { return intOr(p.RenewDaysBefore, DefaultRenewDaysBefore) }

// Grace is GraceDays or its default.
func (p Policy) Grace() int { return intOr(p.GraceDays, DefaultGraceDays) }

// Retention is RetentionDays or its default.
func (p Policy) Retention() int { return intOr(p.RetentionDays, DefaultRetentionDays) }

// AllowedMonths returns the prepaid durations allowed for type t (R7).
func (p Policy) AllowedMonths(t PoolType) []int {
	if t == Deployment {
		if p.DeploymentMonths != nil {
			return p.DeploymentMonths
		}
		return defaultDeploymentMonths
	}
	if p.TrainingMonths != nil {
		return p.TrainingMonths
	}
	return defaultTrainingMonths
}

// MonthsAllowed reports whether a prepaid term of months is allowed for t (R7).
func (p Policy) MonthsAllowed(t PoolType, months int) bool {
	for _, m := range p.AllowedMonths(t) {
		if m == months {
			return true
		}
	}
	return false
}

// PrepaidRegions returns the regions that sell prepaid deployment pools (R9).
func (p Policy) PrepaidRegions() []string {
	if p.PrepaidDeploymentRegions == nil {
		return defaultPrepaidDeploy
	}
	return p.PrepaidDeploymentRegions
}

// PrepaidDeploymentAllowed reports whether region sells prepaid deployment
// pools (R9).
func (p Policy) PrepaidDeploymentAllowed(region string) bool {
	for _, r := range p.PrepaidRegions() {
		if r == region {
			return true
		}
	}
	return false
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
