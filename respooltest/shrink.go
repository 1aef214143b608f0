package respooltest

import (
	"strings"
	"time"

	"github.com/leanovate/gopter"

	"github.com/respool/respool/domain"
)

// ShrinkTimeline is the shrinker of GenTimeline (a gopter.Shrinker of
// Timeline values). Its candidates, in order: the timeline without a chunk
// of steps (half of them, then quarters, down to single steps); each step
// made simpler (one node, no auto-renewal, no description or network); an
// earlier end; an account left unopened, or opened without quota or
// balance limits; the rate card without stock limits or own yearly prices;
// the default policy. Every candidate is strictly simpler, so shrinking
// ends.
func ShrinkTimeline(v any) gopter.Shrink {
	tl := v.(Timeline)
	var cands []func() (Timeline, bool)

	// Steps: drop chunks of decreasing length, as gopter's SliceShrinker does.
	n := len(tl.Steps)
	for chunk := n / 2; chunk >= 1; chunk /= 2 {
		for off := 0; off < n; off += chunk {
			cands = append(cands, func() (Timeline, bool) {
				c := tl
				c.Steps = append(append([]Step(nil), tl.Steps[:off]...), tl.Steps[min(off+chunk, n):]...)
				return c, true
			})
		}
	}
	if n == 1 {
		cands = append(cands, func() (Timeline, bool) { c := tl; c.Steps = nil; return c, true })
	}
	for i := range tl.Steps {
		for _, simpler := range simplerSteps(tl.Steps[i]) {
			cands = append(cands, func() (Timeline, bool) {
				c := tl
				c.Steps = append([]Step(nil), tl.Steps...)
				c.Steps[i] = simpler
				return c, true
			})
		}
	}
	// The end: right after the last step, or half way there.
	last := tl.Start
	if n > 0 {
		last = tl.Steps[n-1].At
	}
	if tl.End.After(last) {
		cands = append(cands, func() (Timeline, bool) { c := tl; c.End = last; return c, true })
		if d := tl.End.Sub(last); d > 2*time.Second {
			cands = append(cands, func() (Timeline, bool) {
				c := tl
				c.End = last.Add(d / 2).Truncate(time.Second)
				return c, c.End.After(last) && c.End.Before(tl.End)
			})
		}
	}
	// Accounts: unopened, then opened without limits.
	for i := range tl.Accounts {
		cands = append(cands, func() (Timeline, bool) {
			c := tl
			c.Accounts = append(append([]domain.OpenAccount(nil), tl.Accounts[:i]...), tl.Accounts[i+1:]...)
			return c, true
		})
		cands = append(cands, func() (Timeline, bool) {
			a := tl.Accounts[i]
			if a.Balance == nil && len(a.Quota) == 0 {
				return tl, false
			}
			c := tl
			c.Accounts = append([]domain.OpenAccount(nil), tl.Accounts...)
			c.Accounts[i].Balance, c.Accounts[i].Quota = nil, nil
			return c, true
		})
	}
	// The rate card: no stock limits, no own yearly price.
	for i := range tl.Catalog.Flavors {
		cands = append(cands, func() (Timeline, bool) {
			f := tl.Catalog.Flavors[i]
			if f.Stock == nil && f.Yearly.IsZero() {
				return tl, false
			}
			c := tl
			c.Catalog.Flavors = append([]domain.Flavor(nil), tl.Catalog.Flavors...)
			c.Catalog.Flavors[i].Stock, c.Catalog.Flavors[i].Yearly = nil, domain.Zero
			return c, true
		})
	}
	// The policy: the defaults, keeping the zone (instants are in it).
	cands = append(cands, func() (Timeline, bool) {
		if DescribePolicy(tl.Policy) == "defaults" || (tl.Policy.Zone != nil && DescribePolicy(domain.Policy{Zone: tl.Policy.Zone}) == DescribePolicy(tl.Policy)) {
			return tl, false
		}
		c := tl
		c.Policy = domain.Policy{Zone: tl.Policy.Zone}
		return c, true
	})

	i := 0
	return func() (any, bool) {
		for i < len(cands) {
			c, ok := cands[i]()
			i++
			if ok {
				return c, true
			}
		}
		return nil, false
	}
}

// simplerSteps returns simpler forms of s's command: fewer nodes, no
// auto-renewal, no description, no network.
func simplerSteps(s Step) []Step {
	var out []Step
	with := func(c domain.Command) { out = append(out, Step{At: s.At, Cmd: c}) }
	switch c := s.Cmd.(type) {
	case domain.CreatePool:
		if c.Nodes > 1 && c.Nodes <= domain.MaxNodesPerCommand {
			d := c
			d.Nodes = 1
			with(d)
		}
		if c.AutoRenew {
			d := c
			d.AutoRenew = false
			with(d)
		}
		if c.Description != "" && c.Description != strings.Repeat("é", domain.MaxDescription+1) {
			d := c
			d.Description = ""
			with(d)
		}
		if c.Network != nil && c.Network.VPC != "" && c.Network.Subnet != "" && c.Network.SecurityGroup != "" {
			d := c
			d.Network = nil
			with(d)
		}
	case domain.ScaleOut:
		if c.Nodes > 1 && c.Nodes <= domain.MaxNodesPerCommand {
			c.Nodes = 1
			with(c)
		}
	case ScaleInNewest:
		if c.Count > 1 {
			c.Count = 1
			with(c)
		}
	case domain.ScaleIn:
		if len(c.Nodes) > 1 {
			c.Nodes = c.Nodes[:1]
			with(c)
		}
	}
	return out
}
