package respooltest

import (
	"fmt"
	"strings"
	"time"

	"github.com/respool/respool/domain"
)

// Timeline is a whole story to run through a Service: the policy and rate
// card it runs under, the accounts opened at Start, the commands sent at
// their instants (in time order), and End, the instant the clock is
// advanced to after the last one (so that auto-renewals, expiries, grace,
// retention and deletions happen, R24 and R26). Steps may be invalid on
// purpose: a rejection is an outcome like any other.
//
// A Timeline is a value: generators and shrinkers copy it, and its String
// prints every instant in the billing zone, one step a line, so that a
// failing property shows a readable story.
type Timeline struct {
	Policy   domain.Policy
	Catalog  Catalog
	Accounts []domain.OpenAccount // opened at Start, in order
	Start    time.Time
	Steps    []Step
	End      time.Time
}

// Step is one command sent at an instant. Cmd is a domain command, or a
// ScaleInNewest that the runner turns into a domain.ScaleIn when it runs.
type Step struct {
	At  time.Time
	Cmd domain.Command
}

// ScaleInNewest removes the pool's Count newest nodes, whichever they are
// when it runs, like a scenario's `scale_in: N` (SPEC section 9). The runner
// (Run.Do) resolves it into a domain.ScaleIn naming them; a Count of 0 or
// less, or a pool the actor cannot see, sends a ScaleIn naming no node. It
// lets timelines stay meaningful when shrinking removes the steps that
// created the nodes a literal ScaleIn would name.
type ScaleInNewest struct {
	domain.Cmd
	Pool  domain.PoolID
	Count int
}

// Calendar returns the billing calendar of the timeline's policy.
func (tl Timeline) Calendar() domain.Calendar { return tl.Policy.Calendar() }

// String prints the timeline: policy, rate card, accounts, then one line
// per step with its instant in the billing zone.
func (tl Timeline) String() string {
	var b strings.Builder
	loc := tl.Calendar().Location()
	fmt.Fprintf(&b, "\n  policy: %s\n  %s", DescribePolicy(tl.Policy), tl.Catalog)
	for _, a := range tl.Accounts {
		fmt.Fprintf(&b, "\n  account %s", describeAccount(a))
	}
	fmt.Fprintf(&b, "\n  start %s", FormatInstant(tl.Start, loc))
	for i, s := range tl.Steps {
		fmt.Fprintf(&b, "\n  %2d %s  %s", i, FormatInstant(s.At, loc), FormatCommand(s.Cmd))
	}
	fmt.Fprintf(&b, "\n  end   %s\n", FormatInstant(tl.End, loc))
	return b.String()
}

// FormatInstant writes t in loc (the billing zone) with its weekday, to the
// nanosecond when it is not a whole second: "2024-02-29 23:59:59 +08:00 Thu".
func FormatInstant(t time.Time, loc *time.Location) string {
	l := t.In(loc)
	if l.Nanosecond() != 0 {
		return l.Format("2006-01-02 15:04:05.000000000 -07:00 Mon")
	}
	return l.Format("2006-01-02 15:04:05 -07:00 Mon")
}

func describeAccount(a domain.OpenAccount) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s]", a.Account, a.ID)
	if a.Balance == nil {
		b.WriteString(" balance unlimited")
	} else {
		fmt.Fprintf(&b, " balance %s", a.Balance)
	}
	if len(a.Quota) > 0 {
		fmt.Fprintf(&b, " quota %v", a.Quota)
	}
	return b.String()
}

// FormatCommand is a one-line account of a command: who, what, on which
// pool, with every field that is set.
func FormatCommand(c domain.Command) string {
	if c == nil {
		return "<nil>"
	}
	who := fmt.Sprintf("%-6s [%s]", c.Actor(), c.CommandID())
	switch c := c.(type) {
	case domain.CreatePool:
		var b strings.Builder
		fmt.Fprintf(&b, "%s create %s: %s %s %s@%s x%d", who, orAssigned(c.Pool), c.Type, c.Billing, c.Flavor, c.Region, c.Nodes)
		if c.Months != 0 {
			fmt.Fprintf(&b, " %dm", c.Months)
		}
		if c.AutoRenew {
			b.WriteString(" auto-renew")
		}
		if c.AZ != "" {
			fmt.Fprintf(&b, " az=%s", c.AZ)
		}
		if c.Network != nil {
			fmt.Fprintf(&b, " network=%+v", *c.Network)
		}
		fmt.Fprintf(&b, " name=%q", c.Name)
		if c.Description != "" {
			d := c.Description
			if len(d) > 20 {
				d = fmt.Sprintf("%.20s...(%d bytes)", d, len(d))
			}
			fmt.Fprintf(&b, " description=%q", d)
		}
		return b.String()
	case domain.ScaleOut:
		return fmt.Sprintf("%s scale-out %s +%d", who, c.Pool, c.Nodes)
	case domain.ScaleIn:
		return fmt.Sprintf("%s scale-in %s %v", who, c.Pool, c.Nodes)
	case ScaleInNewest:
		return fmt.Sprintf("%s scale-in %s newest %d", who, c.Pool, c.Count)
	case domain.DeletePool:
		return fmt.Sprintf("%s delete %s", who, c.Pool)
	case domain.Renew:
		return fmt.Sprintf("%s renew %s %dm", who, c.Pool, c.Months)
	case domain.SetAutoRenew:
		if c.Months != 0 {
			return fmt.Sprintf("%s auto-renew %s %v %dm", who, c.Pool, c.On, c.Months)
		}
		return fmt.Sprintf("%s auto-renew %s %v", who, c.Pool, c.On)
	case domain.ReportFault:
		return fmt.Sprintf("%s fault %s", who, c.Pool)
	case domain.Rectify:
		return fmt.Sprintf("%s rectify %s", who, c.Pool)
	case domain.TopUp:
		return fmt.Sprintf("%s top-up %s", who, c.Amount)
	case domain.OpenAccount:
		return fmt.Sprintf("%s open-account", who)
	}
	return fmt.Sprintf("%s %T %+v", who, c, c)
}

func orAssigned(id domain.PoolID) string {
	if id == "" {
		return "(id assigned)"
	}
	return string(id)
}

// PoolOf returns the pool a command names, and false for account commands
// and for a CreatePool that leaves the id to the Service.
func PoolOf(c domain.Command) (domain.PoolID, bool) {
	if c, ok := c.(ScaleInNewest); ok {
		return c.Pool, true
	}
	return domain.PoolOf(c)
}
