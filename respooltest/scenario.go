package respooltest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/leanovate/gopter"

	"github.com/respool/respool/domain"
)

// ScenarioOf writes a timeline as a what-if scenario file (SPEC section
// 9), so that the same story can be run by the simulator: its policy, rate
// card and accounts, each CreatePool as a pool bought at its instant, and
// the other commands as actions. What the format cannot say is left out:
// steps that resend a command id (the simulator numbers its actions), a
// CreatePool without a pool id or with an id already used, commands on
// pools that are not listed, auto-renewal with a length of its own, and
// OpenAccount. Policy settings the format lacks (prepaid durations,
// regions) must be at their defaults. The scenario ends at the timeline's
// End, or a second after its last step if that is later (a scenario's
// instants lie in [start, end)).
//
// It returns the YAML and the steps it kept, by index into tl.Steps, in
// the order the simulator carries them out: by instant, and at one instant
// the pool creations first (SPEC section 9's engine), each kind in
// timeline order.
func ScenarioOf(tl Timeline, name string) ([]byte, []int) {
	loc := tl.Calendar().Location()
	ts := func(t time.Time) string { return t.In(loc).Format(time.RFC3339Nano) }
	var b strings.Builder
	end := tl.End
	if n := len(tl.Steps); n > 0 && !end.After(tl.Steps[n-1].At) {
		end = tl.Steps[n-1].At.Add(time.Second)
	}
	if !end.After(tl.Start) {
		end = tl.Start.Add(time.Second)
	}
	fmt.Fprintf(&b, "name: %q\nstart: %s\nend: %s\n", name, ts(tl.Start), ts(end))
	_, off := tl.Start.In(loc).Zone()
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	fmt.Fprintf(&b, "zone: \"%c%02d:%02d\"\n", sign, off/3600, off/60%60)
	p := tl.Policy
	b.WriteString("policy:\n")
	fmt.Fprintf(&b, "  renew_days_before: %d\n  grace_days: %d\n  retention_days: %d\n  rounding: %s\n",
		p.RenewLeadDays(), p.Grace(), p.Retention(), p.Rounding)
	fmt.Fprintf(&b, "catalog:\n  currency: %s\n  flavors:\n", tl.Catalog.Currency)
	for _, f := range tl.Catalog.Flavors {
		fmt.Fprintf(&b, "    - id: %s\n      kind: %s\n      hourly: %q\n      monthly: %q\n", f.ID, f.Kind, f.Hourly.String(), f.Monthly.String())
		if !f.Yearly.IsZero() {
			fmt.Fprintf(&b, "      yearly: %q\n", f.Yearly.String())
		}
		fmt.Fprintf(&b, "      regions: [%s]\n", strings.Join(f.Regions, ", "))
		if len(f.Stock) > 0 {
			keys := make([]string, 0, len(f.Stock))
			for r := range f.Stock {
				keys = append(keys, r)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, r := range keys {
				parts[i] = fmt.Sprintf("%s: %d", r, f.Stock[r])
			}
			fmt.Fprintf(&b, "      stock: {%s}\n", strings.Join(parts, ", "))
		}
	}
	// Accounts: those opened, then every other actor of a kept step, with
	// no limits (as an account never opened has).
	listed := map[domain.AccountID]bool{}
	b.WriteString("accounts:\n")
	for _, a := range tl.Accounts {
		if listed[a.Account] || !domain.ValidID(string(a.Account)) {
			continue
		}
		listed[a.Account] = true
		fmt.Fprintf(&b, "  - id: %s\n", a.Account)
		if len(a.Quota) > 0 {
			keys := make([]string, 0, len(a.Quota))
			for f := range a.Quota {
				keys = append(keys, string(f))
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, f := range keys {
				parts[i] = fmt.Sprintf("%s: %d", f, a.Quota[domain.FlavorID(f)])
			}
			fmt.Fprintf(&b, "    quota: {%s}\n", strings.Join(parts, ", "))
		}
		if a.Balance != nil {
			fmt.Fprintf(&b, "    balance: %q\n", a.Balance.String())
		}
	}
	var kept []int
	var pools, actions strings.Builder
	owners := map[domain.PoolID]domain.AccountID{}
	seenCmd := map[domain.CommandID]bool{}
	addActor := func(a domain.AccountID) {
		if !listed[a] {
			listed[a] = true
			fmt.Fprintf(&b, "  - id: %s\n", a)
		}
	}
	for i, s := range tl.Steps {
		id := s.Cmd.CommandID()
		if seenCmd[id] {
			continue // a resend: the simulator numbers its actions
		}
		seenCmd[id] = true
		if !domain.ValidID(string(s.Cmd.Actor())) || !domain.ValidID(string(id)) {
			continue
		}
		at := ts(s.At)
		switch c := s.Cmd.(type) {
		case domain.CreatePool:
			if c.Pool == "" || !domain.ValidID(string(c.Pool)) || owners[c.Pool] != "" {
				continue
			}
			owners[c.Pool] = c.Account
			addActor(c.Account)
			fmt.Fprintf(&pools, "  - id: %s\n    account: %s\n    name: %q\n", c.Pool, c.Account, c.Name)
			if c.Description != "" {
				fmt.Fprintf(&pools, "    description: %s\n", strconv.Quote(c.Description))
			}
			fmt.Fprintf(&pools, "    type: %s\n    billing: %s\n    flavor: %s\n    region: %s\n    nodes: %d\n", c.Type, c.Billing, c.Flavor, c.Region, c.Nodes)
			if c.Billing == domain.Prepaid {
				fmt.Fprintf(&pools, "    months: %d\n    auto_renew: %v\n", c.Months, c.AutoRenew)
			}
			if c.Type == domain.Deployment {
				if c.AZ != "" {
					fmt.Fprintf(&pools, "    az: %s\n", c.AZ)
				}
				if n := c.Network; n != nil {
					fmt.Fprintf(&pools, "    network: {vpc: %q, subnet: %q, security_group: %q}\n", n.VPC, n.Subnet, n.SecurityGroup)
				}
			}
			fmt.Fprintf(&pools, "    at: %s\n", at)
		case domain.TopUp:
			if c.Amount.IsZero() {
				continue
			}
			addActor(c.Account)
			fmt.Fprintf(&actions, "  - {at: %s, account: %s, top_up: %q}\n", at, c.Account, c.Amount.String())
		default:
			pool, ok := PoolOf(c)
			if !ok || owners[pool] == "" {
				continue
			}
			addActor(c.Actor())
			verb := ""
			switch c := c.(type) {
			case domain.ScaleOut:
				if c.Nodes < 1 {
					continue
				}
				verb = fmt.Sprintf("scale_out: %d", c.Nodes)
			case ScaleInNewest:
				if c.Count < 1 {
					continue
				}
				verb = fmt.Sprintf("scale_in: %d", c.Count)
			case domain.ScaleIn:
				if len(c.Nodes) == 0 {
					continue
				}
				names := make([]string, len(c.Nodes))
				for i, n := range c.Nodes {
					if !domain.ValidID(string(n)) {
						names = nil
						break
					}
					names[i] = string(n)
				}
				if names == nil {
					continue
				}
				verb = fmt.Sprintf("scale_in: [%s]", strings.Join(names, ", "))
			case domain.DeletePool:
				verb = "delete: true"
			case domain.Renew:
				if c.Months < 1 {
					continue
				}
				verb = fmt.Sprintf("renew: %d", c.Months)
			case domain.SetAutoRenew:
				if c.Months != 0 {
					continue
				}
				verb = fmt.Sprintf("auto_renew: %v", c.On)
			case domain.ReportFault:
				verb = "fault: true"
			case domain.Rectify:
				verb = "recover: true"
			default:
				continue
			}
			fmt.Fprintf(&actions, "  - {at: %s, account: %s, pool: %s, %s}\n", at, c.Actor(), pool, verb)
		}
		kept = append(kept, i)
	}
	creation := func(i int) int {
		if _, ok := tl.Steps[i].Cmd.(domain.CreatePool); ok {
			return 0
		}
		return 1
	}
	sort.SliceStable(kept, func(x, y int) bool {
		a, b := tl.Steps[kept[x]], tl.Steps[kept[y]]
		if !a.At.Equal(b.At) {
			return a.At.Before(b.At)
		}
		return creation(kept[x]) < creation(kept[y])
	})
	if pools.Len() > 0 {
		b.WriteString("pools:\n")
		b.WriteString(pools.String())
	}
	if actions.Len() > 0 {
		b.WriteString("actions:\n")
		b.WriteString(actions.String())
	}
	return []byte(b.String()), kept
}

// GenScenario generates what-if scenario files (YAML, SPEC section 9): a
// timeline of valid commands under a policy the format can express (see
// ScenarioOf), written as a scenario.
func GenScenario(o TimelineOptions) gopter.Gen {
	o.Invalid = -1
	o.NoRetries = true
	o.Policy.DefaultMonths = true
	return func(p *gopter.GenParameters) *gopter.GenResult {
		tl := genTimeline(p.Rng, p.MaxSize, o)
		tl.Policy.PrepaidDeploymentRegions = nil
		y, _ := ScenarioOf(tl, "generated")
		return gopter.NewGenResult(string(y), gopter.NoShrinker)
	}
}
