package simulator

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/respool/respool/domain"
)

// The keys of each part of a scenario (SPEC section 9), in the order the
// format lists them; "description" of a pool is ours (R2).
var (
	scenarioKeys = []string{"name", "start", "end", "tick", "zone", "policy", "catalog", "accounts", "pools", "actions", "variants"}
	policyKeys   = []string{"renew_days_before", "grace_days", "retention_days", "rounding"}
	catalogKeys  = []string{"currency", "flavors"}
	flavorKeys   = []string{"id", "kind", "hourly", "monthly", "yearly", "regions", "stock"}
	accountKeys  = []string{"id", "quota", "balance"}
	poolKeys     = []string{"id", "account", "name", "description", "type", "billing", "flavor", "region", "nodes", "months", "auto_renew", "az", "network", "at"}
	networkKeys  = []string{"vpc", "subnet", "security_group"}
	actionVerbs  = []string{"scale_out", "scale_in", "delete", "renew", "auto_renew", "fault", "recover", "top_up"}
	actionKeys   = append([]string{"at", "account", "pool"}, actionVerbs...)
	variantKeys  = []string{"name", "pools"}
)

// DefaultTick is the tick of a scenario that names none.
const DefaultTick = time.Hour

// scenario reads the root mapping into a Scenario, reporting every problem.
func (l *loader) scenario(root *yaml.Node) *Scenario {
	m := l.mapping(root, "", "a scenario", scenarioKeys)
	if m == nil {
		return nil
	}
	l.need(m, "a scenario", "name", "start", "end", "catalog", "accounts", "pools")
	sc := &Scenario{File: l.file, Tick: DefaultTick}
	if n := m.vals["name"]; n != nil {
		sc.Name, _ = l.str(n, "name", "a title for the scenario")
	}
	var startOK, endOK bool
	if n := m.vals["start"]; n != nil {
		sc.Start, startOK = l.instant(n, "start")
	}
	if n := m.vals["end"]; n != nil {
		sc.End, endOK = l.instant(n, "end")
	}
	span := startOK && endOK
	if span && !sc.End.After(sc.Start) {
		l.problem(m.vals["end"], "end", "end (%s) is not after start (%s); the simulation runs from start to end",
			sc.End.Format(time.RFC3339), sc.Start.Format(time.RFC3339))
		span = false
	} else if span && sc.End.Sub(sc.Start) > MaxSpan {
		l.problem(m.vals["end"], "end", "the simulation spans more than 100 years; shorten it")
		span = false
	}
	if n := m.vals["tick"]; n != nil {
		if d, ok := l.duration(n, "tick"); ok {
			sc.Tick = d
		}
	}
	if n := m.vals["zone"]; n != nil {
		if s, ok := l.str(n, "zone", `an offset such as "+08:00"`); ok {
			z, err := ParseZone(s)
			if err != nil {
				l.problem(n, "zone", "%v", err)
			} else {
				sc.Policy.Zone = z
			}
		}
	}
	if sc.Policy.Zone == nil {
		sc.Policy.Zone = domain.DefaultZone()
	}
	if n := m.vals["policy"]; n != nil {
		l.policy(n, &sc.Policy)
	}
	if n := m.vals["catalog"]; n != nil {
		sc.Catalog = l.catalogAt(n, "catalog")
	}
	var accts []Account
	if n := m.vals["accounts"]; n != nil {
		accts = l.accounts(n, sc.Catalog)
	}
	sc.Accounts = accts
	ctx := refs{sc: sc, span: span, accounts: map[domain.AccountID]bool{}}
	for _, a := range accts {
		ctx.accounts[a.ID] = true
	}
	if n := m.vals["pools"]; n != nil {
		sc.Pools = l.pools(n, &ctx)
	}
	ctx.pools = map[domain.PoolID]*Pool{}
	for i := range sc.Pools {
		ctx.pools[sc.Pools[i].ID] = &sc.Pools[i]
	}
	if n := m.vals["actions"]; n != nil {
		sc.Actions = l.actions(n, &ctx)
	}
	sc.Variants = []Variant{{Name: "base", Pools: sc.Pools}}
	if n := m.vals["variants"]; n != nil {
		sc.Variants = append(sc.Variants, l.variants(n, &ctx)...)
	}
	return sc
}

// refs is what later parts of a scenario are checked against.
type refs struct {
	sc       *Scenario
	span     bool // Start and End are valid
	accounts map[domain.AccountID]bool
	pools    map[domain.PoolID]*Pool
	poolIDs  []string
}

// inSpan checks that t lies in [Start, End).
func (l *loader) inSpan(r *refs, n *yaml.Node, path string, t time.Time) {
	if !r.span {
		return
	}
	if t.Before(r.sc.Start) || !t.Before(r.sc.End) {
		l.problem(n, path, "%s is outside the simulation; want a time at or after start (%s) and before end (%s)",
			t.Format(time.RFC3339), r.sc.Start.Format(time.RFC3339), r.sc.End.Format(time.RFC3339))
	}
}

func (l *loader) policy(n *yaml.Node, p *domain.Policy) {
	m := l.mapping(n, "policy", "the policy", policyKeys)
	if m == nil {
		return
	}
	days := func(key string, set func(v int) domain.Policy, dst **int) {
		vn := m.vals[key]
		if vn == nil {
			return
		}
		v, ok := l.integer(vn, join("policy", key), "a whole number of days")
		if !ok {
			return
		}
		if err := set(v).Validate(); err != nil { // the ranges live in domain.Policy
			l.problem(vn, join("policy", key), "%s", strings.TrimPrefix(err.Error(), domain.ErrInvalidPolicy.Error()+": "))
			return
		}
		*dst = domain.Int(v)
	}
	days("renew_days_before", func(v int) domain.Policy { return domain.Policy{RenewDaysBefore: &v} }, &p.RenewDaysBefore)
	days("grace_days", func(v int) domain.Policy { return domain.Policy{GraceDays: &v} }, &p.GraceDays)
	days("retention_days", func(v int) domain.Policy { return domain.Policy{RetentionDays: &v} }, &p.RetentionDays)
	if vn := m.vals["rounding"]; vn != nil {
		if s, ok := l.str(vn, "policy.rounding", "half-up or half-even"); ok {
			r, err := domain.ParseRounding(s)
			if err != nil || s == "" {
				l.problem(vn, "policy.rounding", "%q: want half-up or half-even", s)
			} else {
				p.Rounding = r
			}
		}
	}
}

// catalogAt reads the catalog inline or, if n is a path, from that file.
func (l *loader) catalogAt(n *yaml.Node, path string) *domain.RateCard {
	n = l.resolve(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return l.catalog(n, path)
	}
	name := n.Value
	if l.read == nil {
		l.problem(n, path, "a catalog file (%q) cannot be read here; put the catalog inline", name)
		return nil
	}
	data, err := l.read(name)
	if err != nil {
		l.problem(n, path, "cannot read the catalog file %q: %v", name, err)
		return nil
	}
	sub := &loader{file: catalogFileName(l.file, name), budget: l.budget, probs: l.probs}
	root := sub.parseYAML(data, "a catalog")
	if root == nil {
		return nil
	}
	rc := sub.catalog(root, "")
	l.budget = sub.budget
	return rc
}

// catalogFileName is how a catalog file is named in messages: the path
// written in the scenario, joined to the scenario's directory.
func catalogFileName(scenario, name string) string {
	if strings.HasPrefix(name, "/") {
		return name
	}
	dir := scenario[:strings.LastIndexAny(scenario, `/\`)+1]
	return dir + name
}

func (l *loader) catalog(n *yaml.Node, path string) *domain.RateCard {
	m := l.mapping(n, path, "a catalog", catalogKeys)
	if m == nil {
		return nil
	}
	ok := l.need(m, "a catalog", catalogKeys...)
	var currency string
	if vn := m.vals["currency"]; vn != nil {
		var good bool
		currency, good = l.str(vn, join(path, "currency"), "a currency code such as CNY")
		ok = ok && good
	}
	var flavors []domain.Flavor
	if vn := m.vals["flavors"]; vn != nil {
		items, isList := l.seq(vn, join(path, "flavors"), "a list of flavors")
		if isList && len(items) == 0 {
			l.problem(vn, join(path, "flavors"), "lists no flavor; a catalog sells at least one")
			ok = false
		}
		seen := map[domain.FlavorID]int{}
		for i, it := range items {
			p := index(join(path, "flavors"), i)
			f, good := l.flavor(it, p)
			if !good {
				ok = false
				continue
			}
			if line, dup := seen[f.ID]; dup {
				l.problem(it, p+".id", "flavor %s is listed twice (first at line %d)", f.ID, line)
				ok = false
				continue
			}
			seen[f.ID] = it.Line
			flavors = append(flavors, f)
		}
	}
	if !ok {
		return nil
	}
	rc, err := domain.NewRateCard(currency, flavors...)
	if err != nil {
		l.problem(n, path, "%v", err)
		return nil
	}
	return rc
}

func (l *loader) flavor(n *yaml.Node, path string) (domain.Flavor, bool) {
	m := l.mapping(n, path, "a flavor", flavorKeys)
	if m == nil {
		return domain.Flavor{}, false
	}
	ok := l.need(m, "a flavor", "id", "kind", "hourly", "monthly", "regions")
	var f domain.Flavor
	good := func(b bool) { ok = ok && b }
	if vn := m.vals["id"]; vn != nil {
		s, g := l.id(vn, join(path, "id"), "flavor id")
		f.ID = domain.FlavorID(s)
		good(g)
	}
	if vn := m.vals["kind"]; vn != nil {
		s, g := l.str(vn, join(path, "kind"), "cpu or gpu")
		if g && s != string(domain.CPU) && s != string(domain.GPU) {
			l.problem(vn, join(path, "kind"), "%q: want cpu or gpu", s)
			g = false
		}
		f.Kind = domain.Kind(s)
		good(g)
	}
	for _, k := range []struct {
		key string
		dst *domain.Money
	}{{"hourly", &f.Hourly}, {"monthly", &f.Monthly}, {"yearly", &f.Yearly}} {
		if vn := m.vals[k.key]; vn != nil {
			v, g := l.money(vn, join(path, k.key))
			*k.dst = v
			good(g)
		}
	}
	if vn := m.vals["yearly"]; vn != nil && f.Yearly.IsZero() && ok {
		l.problem(vn, join(path, "yearly"), "a yearly price of 0 means the default (10 x monthly, R8); remove the key to say so")
		ok = false
	}
	if vn := m.vals["regions"]; vn != nil {
		items, isList := l.seq(vn, join(path, "regions"), "a list of regions, such as [cn-north-4]")
		if isList && len(items) == 0 {
			l.problem(vn, join(path, "regions"), "lists no region; a flavor is sold in at least one")
			ok = false
		}
		for i, it := range items {
			s, g := l.str(it, index(join(path, "regions"), i), "a region name")
			good(g)
			if g && contains(f.Regions, s) {
				l.problem(it, index(join(path, "regions"), i), "region %s is listed twice", s)
				ok = false
			}
			f.Regions = append(f.Regions, s)
		}
	}
	if vn := m.vals["stock"]; vn != nil {
		sm := l.mapping(vn, join(path, "stock"), "the stock per region", f.Regions)
		if sm == nil {
			ok = false
		} else {
			f.Stock = map[string]int{}
			for _, r := range sortedKeys(sm.vals) {
				v, g := l.integer(sm.vals[r], join(join(path, "stock"), r), "a whole number of nodes")
				if g && v < 0 {
					l.problem(sm.vals[r], join(join(path, "stock"), r), "stock %d is negative; want 0 or more nodes", v)
					g = false
				}
				good(g)
				f.Stock[r] = v
			}
			if len(sm.vals) != len(sm.node.Content)/2 {
				ok = false
			}
		}
	}
	return f, ok
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (l *loader) accounts(n *yaml.Node, rc *domain.RateCard) []Account {
	items, isList := l.seq(n, "accounts", "a list of accounts")
	if isList && len(items) == 0 {
		l.problem(n, "accounts", "lists no account; add one, such as - {id: acme}")
	}
	var out []Account
	seen := map[domain.AccountID]int{}
	for i, it := range items {
		path := index("accounts", i)
		m := l.mapping(it, path, "an account", accountKeys)
		if m == nil {
			continue
		}
		l.need(m, "an account", "id")
		a := Account{Line: it.Line}
		if vn := m.vals["id"]; vn != nil {
			s, ok := l.id(vn, path+".id", "account id")
			if !ok {
				continue
			}
			a.ID = domain.AccountID(s)
			if line, dup := seen[a.ID]; dup {
				l.problem(vn, path+".id", "account %s is listed twice (first at line %d)", s, line)
				continue
			}
			seen[a.ID] = it.Line
		} else {
			continue
		}
		if vn := m.vals["quota"]; vn != nil {
			var ids []string
			if rc != nil {
				for _, f := range rc.Flavors() {
					ids = append(ids, string(f.ID))
				}
			}
			qm := l.quotaMap(vn, path+".quota")
			a.Quota = map[domain.FlavorID]int{}
			for _, k := range sortedKeys(qm) {
				q := qm[k]
				if rc != nil {
					if _, ok := rc.Flavor(domain.FlavorID(k)); !ok {
						l.problem(q.key, path+".quota."+k, "flavor %q is not in the catalog%s", k, suggest(k, ids))
						continue
					}
				}
				a.Quota[domain.FlavorID(k)] = q.n
			}
		}
		if vn := m.vals["balance"]; vn != nil {
			if b, ok := l.money(vn, path+".balance"); ok {
				a.Balance = &b
			}
		}
		out = append(out, a)
	}
	return out
}

type quotaItem struct {
	key *yaml.Node
	n   int
}

// quotaMap reads {flavor: nodes}; flavors are checked by the caller.
func (l *loader) quotaMap(n *yaml.Node, path string) map[string]quotaItem {
	n = l.resolve(n)
	out := map[string]quotaItem{}
	if n == nil {
		return out
	}
	if n.Kind != yaml.MappingNode {
		l.problem(n, path, "want nodes per flavor, such as {modelarts.vm.gpu.t4u8: 16}, found %s", describe(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := l.resolve(n.Content[i]), n.Content[i+1]
		if kn == nil {
			return out
		}
		k, ok := l.str(kn, path, "a flavor id")
		if !ok {
			continue
		}
		if _, dup := out[k]; dup {
			l.problem(kn, join(path, k), "given twice; keep one")
			continue
		}
		v, ok := l.integer(vn, join(path, k), "a whole number of nodes")
		if !ok {
			continue
		}
		if v < 0 {
			l.problem(vn, join(path, k), "quota %d is negative; want 0 or more nodes", v)
			continue
		}
		out[k] = quotaItem{kn, v}
	}
	return out
}

// poolFields reads the keys of m into p; set records which were given.
// It reports false if any was wrong.
func (l *loader) poolFields(m *mapping, p *Pool, r *refs, set map[string]bool) bool {
	ok := true
	path := m.path
	for _, k := range poolKeys {
		vn := m.vals[k]
		if vn == nil {
			continue
		}
		set[k] = true
		kp := join(path, k)
		var good bool
		switch k {
		case "id":
			var s string
			s, good = l.id(vn, kp, "pool id")
			p.ID = domain.PoolID(s)
		case "account":
			var s string
			s, good = l.id(vn, kp, "account id")
			if good && !r.accounts[domain.AccountID(s)] {
				l.problem(vn, kp, "account %q is not in accounts%s; list it there", s, suggest(s, idsOf(r.accounts)))
				good = false
			}
			p.Account = domain.AccountID(s)
		case "name":
			p.Name, good = l.str(vn, kp, "a pool name")
		case "description":
			p.Description, good = l.str(vn, kp, "a description")
		case "type":
			var s string
			s, good = l.str(vn, kp, "training or deployment")
			if good && s != string(domain.Training) && s != string(domain.Deployment) {
				l.problem(vn, kp, "%q%s: want training or deployment", s, suggest(s, []string{"training", "deployment"}))
				good = false
			}
			p.Type = domain.PoolType(s)
		case "billing":
			var s string
			s, good = l.str(vn, kp, "pay-per-use or prepaid")
			if good && s != string(domain.PayPerUse) && s != string(domain.Prepaid) {
				l.problem(vn, kp, "%q%s: want pay-per-use or prepaid (the console's Yearly/Monthly)", s, suggest(s, []string{"pay-per-use", "prepaid"}))
				good = false
			}
			p.Billing = domain.Billing(s)
		case "flavor":
			var s string
			s, good = l.id(vn, kp, "flavor id")
			if good && r.sc.Catalog != nil {
				if _, found := r.sc.Catalog.Flavor(domain.FlavorID(s)); !found {
					var ids []string
					for _, f := range r.sc.Catalog.Flavors() {
						ids = append(ids, string(f.ID))
					}
					l.problem(vn, kp, "flavor %q is not in the catalog%s; the catalog sells: %s", s, suggest(s, ids), strings.Join(ids, ", "))
					good = false
				}
			}
			p.Flavor = domain.FlavorID(s)
		case "region":
			p.Region, good = l.str(vn, kp, "a region such as cn-north-4")
		case "nodes":
			p.Nodes, good = l.integer(vn, kp, "a whole number of nodes")
		case "months":
			p.Months, good = l.integer(vn, kp, "a whole number of months")
		case "auto_renew":
			p.AutoRenew, good = l.boolean(vn, kp)
		case "az":
			p.AZ, good = l.str(vn, kp, "random, az1, az2 or az3")
		case "network":
			p.Network, good = l.network(vn, kp)
		case "at":
			p.At, good = l.instant(vn, kp)
			if good {
				l.inSpan(r, vn, kp, p.At)
			}
		}
		ok = ok && good
	}
	return ok
}

func (l *loader) network(n *yaml.Node, path string) (*domain.Network, bool) {
	m := l.mapping(n, path, "a network", networkKeys)
	if m == nil {
		return nil, false
	}
	nw := &domain.Network{}
	ok := true
	for k, dst := range map[string]*string{"vpc": &nw.VPC, "subnet": &nw.Subnet, "security_group": &nw.SecurityGroup} {
		if vn := m.vals[k]; vn != nil {
			var good bool
			*dst, good = l.str(vn, join(path, k), "a name")
			ok = ok && good
		}
	}
	return nw, ok
}

func idsOf[K ~string, V any](m map[K]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

func (l *loader) pools(n *yaml.Node, r *refs) []Pool {
	items, isList := l.seq(n, "pools", "a list of pools")
	if isList && len(items) == 0 {
		l.problem(n, "pools", "lists no pool; there is nothing to simulate")
	}
	var out []Pool
	seen := map[domain.PoolID]int{}
	for i, it := range items {
		path := index("pools", i)
		m := l.mapping(it, path, "a pool", poolKeys)
		if m == nil {
			continue
		}
		ok := l.need(m, "a pool", "id", "account", "type", "billing", "flavor", "region", "nodes")
		p := Pool{Line: it.Line}
		if r.span {
			p.At = r.sc.Start
		}
		set := map[string]bool{}
		ok = l.poolFields(m, &p, r, set) && ok
		if p.ID != "" {
			if line, dup := seen[p.ID]; dup {
				l.problem(m.vals["id"], path+".id", "pool id %s is used twice (first at line %d); give each pool its own id", p.ID, line)
				continue
			}
			seen[p.ID] = it.Line
			r.poolIDs = append(r.poolIDs, string(p.ID))
		}
		if !set["name"] {
			p.Name = string(p.ID) // decision: the name defaults to the id
		}
		if ok {
			l.checkPool(m.node, path, &p, "")
		}
		out = append(out, p)
	}
	return out
}

// checkPool checks what a pool's fields must say together: a prepaid pool
// needs a duration. The rules of SPEC (R1 to R13) are the domain's, checked
// when the pool is bought; breaking one is a rejection, not a file error.
func (l *loader) checkPool(n *yaml.Node, path string, p *Pool, variant string) {
	if p.Billing == domain.Prepaid && p.Months == 0 {
		in := ""
		if variant != "" {
			in = " in variant " + variant
		}
		l.problem(n, path, "pool %s is prepaid%s but names no duration; add months: 1 to 12 (training) or 1 to 11 (deployment)", p.ID, in)
	}
}

func (l *loader) actions(n *yaml.Node, r *refs) []Action {
	items, _ := l.seq(n, "actions", "a list of actions")
	var out []Action
	for i, it := range items {
		path := index("actions", i)
		m := l.mapping(it, path, "an action", actionKeys)
		if m == nil {
			continue
		}
		a := Action{Index: i, Line: it.Line}
		ok := l.need(m, "an action", "at", "account")
		if vn := m.vals["at"]; vn != nil {
			var good bool
			a.At, good = l.instant(vn, path+".at")
			if good {
				l.inSpan(r, vn, path+".at", a.At)
			}
			ok = ok && good
		}
		if vn := m.vals["account"]; vn != nil {
			s, good := l.id(vn, path+".account", "account id")
			if good && !r.accounts[domain.AccountID(s)] {
				l.problem(vn, path+".account", "account %q is not in accounts%s", s, suggest(s, idsOf(r.accounts)))
				good = false
			}
			a.Account = domain.AccountID(s)
			ok = ok && good
		}
		var verbs []string
		for _, v := range actionVerbs {
			if m.has(v) {
				verbs = append(verbs, v)
			}
		}
		switch len(verbs) {
		case 0:
			l.problem(it, path, "names no verb; an action takes exactly one of: %s", strings.Join(actionVerbs, ", "))
			continue
		case 1:
		default:
			l.problem(it, path, "names %d verbs (%s); an action takes exactly one: split it into %d actions", len(verbs), strings.Join(verbs, ", "), len(verbs))
			continue
		}
		a.Verb = Verb(verbs[0])
		vp, vn := path+"."+verbs[0], m.vals[verbs[0]]
		var good bool
		switch a.Verb {
		case VerbScaleOut:
			a.Count, good = l.integer(vn, vp, "a whole number of nodes to add")
		case VerbScaleIn:
			good = l.scaleIn(vn, vp, &a)
		case VerbRenew:
			a.Count, good = l.integer(vn, vp, "a whole number of months")
		case VerbAutoRenew:
			a.On, good = l.boolean(vn, vp)
		case VerbDelete, VerbFault, VerbRecover:
			var on bool
			on, good = l.boolean(vn, vp)
			if good && !on {
				l.problem(vn, vp, "%s: false does nothing; write %s: true, or remove the action", verbs[0], verbs[0])
				good = false
			}
		case VerbTopUp:
			a.Amount, good = l.money(vn, vp)
			if good && a.Amount.IsZero() {
				l.problem(vn, vp, "a top-up of 0 does nothing; give a positive amount")
				good = false
			}
		}
		ok = ok && good
		pn := m.vals["pool"]
		switch {
		case a.Verb == VerbTopUp && pn != nil:
			l.problem(pn, path+".pool", "top_up adds money to an account, not a pool; remove pool")
			ok = false
		case a.Verb != VerbTopUp && pn == nil:
			l.problem(it, path, "%s acts on a pool: add pool: ID", verbs[0])
			ok = false
		case pn != nil:
			s, good := l.id(pn, path+".pool", "pool id")
			if good && r.pools[domain.PoolID(s)] == nil {
				l.problem(pn, path+".pool", "pool %q is not in pools%s; an action can act only on a pool the scenario buys", s, suggest(s, r.poolIDs))
				good = false
			}
			a.Pool = domain.PoolID(s)
			ok = ok && good
		}
		if ok {
			out = append(out, a)
		}
	}
	return out
}

func (l *loader) scaleIn(n *yaml.Node, path string, a *Action) bool {
	n = l.resolve(n)
	if n == nil {
		return false
	}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			l.problem(n, path, "names no node; list node ids such as [n-0003], or give a count")
			return false
		}
		ok := true
		for i, it := range n.Content {
			s, good := l.str(it, index(path, i), "a node id such as n-0003")
			ok = ok && good
			a.Nodes = append(a.Nodes, domain.NodeID(s))
		}
		return ok
	}
	v, ok := l.integer(n, path, "a number of nodes (the newest are removed) or a list of node ids such as [n-0003]")
	a.Count = v
	return ok
}

func (l *loader) variants(n *yaml.Node, r *refs) []Variant {
	items, _ := l.seq(n, "variants", "a list of variants")
	var out []Variant
	seen := map[string]int{"base": 0}
	for i, it := range items {
		path := index("variants", i)
		m := l.mapping(it, path, "a variant", variantKeys)
		if m == nil {
			continue
		}
		if !l.need(m, "a variant", "name", "pools") {
			continue
		}
		v := Variant{Line: it.Line}
		name, ok := l.str(m.vals["name"], path+".name", "a name for the variant")
		if !ok {
			continue
		}
		if line, dup := seen[name]; dup {
			if name == "base" {
				l.problem(m.vals["name"], path+".name", "base is the scenario as written; give the variant another name")
			} else {
				l.problem(m.vals["name"], path+".name", "variant %s is named twice (first at line %d)", name, line)
			}
			continue
		}
		seen[name] = it.Line
		v.Name = name
		pm := l.resolve(m.vals["pools"])
		if pm == nil {
			continue
		}
		if pm.Kind != yaml.MappingNode {
			l.problem(pm, path+".pools", "want overrides per pool, such as {train-a: {billing: prepaid, months: 12}}, found %s", describe(pm))
			continue
		}
		if len(pm.Content) == 0 {
			l.problem(pm, path+".pools", "overrides nothing; a variant changes at least one pool field")
			continue
		}
		v.Pools = slices.Clone(r.sc.Pools)
		good := true
		done := map[string]bool{}
		for j := 0; j+1 < len(pm.Content); j += 2 {
			kn, vn := l.resolve(pm.Content[j]), pm.Content[j+1]
			if kn == nil {
				good = false
				break
			}
			id, ok := l.str(kn, path+".pools", "a pool id")
			if !ok {
				good = false
				continue
			}
			pp := path + ".pools." + id
			if done[id] {
				l.problem(kn, pp, "given twice; merge the overrides")
				good = false
				continue
			}
			done[id] = true
			k := slices.IndexFunc(v.Pools, func(p Pool) bool { return string(p.ID) == id })
			if k < 0 {
				l.problem(kn, pp, "pool %q is not in pools%s; a variant overrides the fields of a pool the scenario buys", id, suggest(id, r.poolIDs))
				good = false
				continue
			}
			fm := l.mapping(vn, pp, "the pool fields to override", poolKeys[1:])
			if fm == nil {
				good = false
				continue
			}
			p := v.Pools[k]
			set := map[string]bool{}
			if !l.poolFields(fm, &p, r, set) {
				good = false
				continue
			}
			if set["billing"] && p.Billing == domain.PayPerUse { // decision: a pool made pay-per-use drops its term
				if !set["months"] {
					p.Months = 0
				}
				if !set["auto_renew"] {
					p.AutoRenew = false
				}
			}
			var parts []string
			for _, key := range poolKeys[1:] {
				if set[key] {
					parts = append(parts, key+"="+fieldText(&p, key))
				}
			}
			v.Changes = append(v.Changes, id+": "+strings.Join(parts, " "))
			l.checkPool(fm.node, pp, &p, name)
			v.Pools[k] = p
		}
		if good {
			out = append(out, v)
		}
	}
	return out
}

// fieldText is a pool field as a variant's change list shows it.
func fieldText(p *Pool, key string) string {
	switch key {
	case "account":
		return string(p.Account)
	case "name":
		return p.Name
	case "description":
		return fmt.Sprintf("%q", p.Description)
	case "type":
		return string(p.Type)
	case "billing":
		return string(p.Billing)
	case "flavor":
		return string(p.Flavor)
	case "region":
		return p.Region
	case "nodes":
		return fmt.Sprint(p.Nodes)
	case "months":
		return fmt.Sprint(p.Months)
	case "auto_renew":
		return fmt.Sprint(p.AutoRenew)
	case "az":
		return p.AZ
	case "network":
		if p.Network == nil {
			return "isolated"
		}
		return p.Network.VPC + "/" + p.Network.Subnet + "/" + p.Network.SecurityGroup
	case "at":
		return p.At.Format(time.RFC3339)
	}
	return ""
}
