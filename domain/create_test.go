package domain_test

import (
	"strings"
	"testing"

	"github.com/respool/respool/domain"
)

var t0 = at(2026, 1, 1, 0, 0, 0)

func TestCreateRules(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 65)
	net := &domain.Network{VPC: "v1", Subnet: "s1", SecurityGroup: "g1"}
	tests := []struct {
		name   string
		rule   string
		change func(c *domain.CreatePool)
		want   domain.Code
	}{
		{"name with a space", "R1", func(c *domain.CreatePool) { c.Name = "my pool" }, domain.CodeInvalidName},
		{"name with a dot", "R1", func(c *domain.CreatePool) { c.Name = "a.b" }, domain.CodeInvalidName},
		{"empty name", "R1", func(c *domain.CreatePool) { c.Name = "" }, domain.CodeInvalidName},
		{"65-character name", "R1", func(c *domain.CreatePool) { c.Name = long }, domain.CodeInvalidName},
		{"257-character description", "R2", func(c *domain.CreatePool) { c.Description = strings.Repeat("é", 257) }, domain.CodeInvalidDescription},
		{"zero nodes", "R3", func(c *domain.CreatePool) { c.Nodes = 0 }, domain.CodeInvalidNodes},
		{"negative nodes", "R3", func(c *domain.CreatePool) { c.Nodes = -1 }, domain.CodeInvalidNodes},
		{"flavor not in the catalog", "R4", func(c *domain.CreatePool) { c.Flavor = "nope" }, domain.CodeUnknownFlavor},
		{"flavor not sold in the region", "R4", func(c *domain.CreatePool) { c.Flavor, c.Region = cpu, sg1 }, domain.CodeUnknownFlavor},
		{"more than the stock", "R5", func(c *domain.CreatePool) { c.Nodes = 11 }, domain.CodeFlavorSoldOut},
		{"prepaid without months", "R7", func(c *domain.CreatePool) { c.Billing = domain.Prepaid }, domain.CodeInvalidDuration},
		{"prepaid training 13 months", "R7", func(c *domain.CreatePool) { c.Billing, c.Months = domain.Prepaid, 13 }, domain.CodeInvalidDuration},
		{"prepaid deployment 12 months", "R7", func(c *domain.CreatePool) {
			c.Billing, c.Months, c.Type = domain.Prepaid, 12, domain.Deployment
		}, domain.CodeInvalidDuration},
		{"pay-per-use with months", "R7", func(c *domain.CreatePool) { c.Months = 3 }, domain.CodeInvalidDuration},
		{"prepaid deployment outside cn-north-4", "R9", func(c *domain.CreatePool) {
			c.Billing, c.Months, c.Type, c.Region = domain.Prepaid, 1, domain.Deployment, sg1
		}, domain.CodeRegionNotSupported},
		{"training pool with a network", "R10", func(c *domain.CreatePool) { c.Network = net }, domain.CodeInvalidNetwork},
		{"network without a subnet", "R10", func(c *domain.CreatePool) {
			c.Type, c.Network = domain.Deployment, &domain.Network{VPC: "v", SecurityGroup: "g"}
		}, domain.CodeInvalidNetwork},
		{"training pool with an AZ", "R11", func(c *domain.CreatePool) { c.AZ = domain.AZ1 }, domain.CodeInvalidAZ},
		{"deployment pool with az4", "R11", func(c *domain.CreatePool) { c.Type, c.AZ = domain.Deployment, "az4" }, domain.CodeInvalidAZ},
		{"auto-renewal on pay-per-use", "R12", func(c *domain.CreatePool) { c.AutoRenew = true }, domain.CodeRenewalNotSupported},
		{"unknown type", "", func(c *domain.CreatePool) { c.Type = "inference" }, domain.CodeInvalidCommand},
		{"empty command id", "R20", func(c *domain.CreatePool) { c.ID = "" }, domain.CodeInvalidCommand},
		// Section 8: the first broken rule in rule order wins.
		{"R1 before R3", "R1", func(c *domain.CreatePool) { c.Name, c.Nodes = "", 0 }, domain.CodeInvalidName},
		{"R3 before R4", "R3", func(c *domain.CreatePool) { c.Nodes, c.Flavor = 0, "nope" }, domain.CodeInvalidNodes},
		{"R5 before R7", "R5", func(c *domain.CreatePool) { c.Nodes, c.Months = 11, 3 }, domain.CodeFlavorSoldOut},
		{"R10 before R11", "R10", func(c *domain.CreatePool) { c.Network, c.AZ = net, domain.AZ1 }, domain.CodeInvalidNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.rule+" "+tt.name, func(t *testing.T) {
			t.Parallel()
			var w world
			c := ppu("p1", 2)
			tt.change(&c)
			w.reject(t, c, env(t, t0), tt.want)
		})
	}
}

// R1, R2: the limits themselves are accepted.
func TestR1R2LimitsAccepted(t *testing.T) {
	t.Parallel()
	var w world
	c := ppu("p1", 1)
	c.Name = strings.Repeat("A-z_9", 12) + "abcd" // 64
	c.Description = strings.Repeat("é", 256)
	w.do(t, c, env(t, t0))
}

// R4, R5: stock and quota are counted per flavor and region, across pools.
func TestR5StockTakenAndGivenBack(t *testing.T) {
	t.Parallel()
	var w world
	w.do(t, ppu("p1", 6), env(t, t0))
	if w.stock.InUse != 6 {
		t.Fatalf("in use %d", w.stock.InUse)
	}
	w.reject(t, domain.ScaleOut{Cmd: cmd("s1"), Pool: "p1", Nodes: 5}, env(t, t0), domain.CodeFlavorSoldOut)
	w.do(t, domain.ScaleOut{Cmd: cmd("s2"), Pool: "p1", Nodes: 4}, env(t, t0))
	w.do(t, domain.ScaleIn{Cmd: cmd("s3"), Pool: "p1", Nodes: []domain.NodeID{"n-0001", "n-0002"}}, env(t, t0))
	if w.stock.InUse != 8 {
		t.Fatalf("after scale-in in use %d, want 8", w.stock.InUse)
	}
	w.do(t, domain.DeletePool{Cmd: cmd("d"), Pool: "p1"}, env(t, t0))
	if w.stock.InUse != 0 {
		t.Fatalf("after delete in use %d, want 0 (R17: stock returns)", w.stock.InUse)
	}
}

// R6: quota per flavor across the account's live pools.
func TestR6Quota(t *testing.T) {
	t.Parallel()
	w := world{}
	w.do(t, domain.OpenAccount{Cmd: cmd("open"), Quota: map[domain.FlavorID]int{gpu: 4}}, env(t, t0))
	w.do(t, ppu("p1", 3), env(t, t0))
	w.reject(t, domain.ScaleOut{Cmd: cmd("s"), Pool: "p1", Nodes: 2}, env(t, t0), domain.CodeQuotaExceeded)
	w.do(t, domain.ScaleOut{Cmd: cmd("s1"), Pool: "p1", Nodes: 1}, env(t, t0))
	var other world
	other.account = w.account
	other.stock = w.stock
	other.reject(t, ppu("p2", 1), env(t, t0), domain.CodeQuotaExceeded)
	c := ppu("p3", 1)
	c.Flavor = cpu // another flavor has no limit
	other.do(t, c, env(t, t0))
}

// R8: a term costs nodes x monthly x months; 12 months of a training pool cost
// the yearly price, 10 x monthly by default.
func TestR8PrepaidPrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		flavor        domain.FlavorID
		typ           domain.PoolType
		nodes, months int
		charge, list  string
	}{
		{"3 months", gpu, domain.Training, 2, 3, "37200", "37200"},
		{"1 year for the price of 10 months", gpu, domain.Training, 2, 12, "124000", "148800"},
		{"the flavor's own yearly price", cpu, domain.Training, 3, 12, "15000", "21600"},
		{"11 months is not discounted", gpu, domain.Training, 1, 11, "68200", "68200"},
		{"deployment pays monthly", gpu, domain.Deployment, 1, 11, "68200", "68200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w world
			c := prepaid("p1", tt.nodes, tt.months)
			c.Flavor, c.Type = tt.flavor, tt.typ
			d := w.do(t, c, env(t, t0))
			cr := d.Pool[0].(*domain.Created)
			if !cr.Charge.Equal(domain.MustMoney(tt.charge)) || !cr.ListPrice.Equal(domain.MustMoney(tt.list)) {
				t.Fatalf("charge %s list %s, want %s %s", cr.Charge, cr.ListPrice, tt.charge, tt.list)
			}
		})
	}
}

// R8: the charge is taken in full; a balance that cannot cover it buys nothing.
func TestR8InsufficientBalance(t *testing.T) {
	t.Parallel()
	var w world
	bal := domain.MustMoney("10000")
	w.do(t, domain.OpenAccount{Cmd: cmd("open"), Balance: &bal}, env(t, t0))
	w.reject(t, prepaid("p1", 2, 1), env(t, t0), domain.CodeInsufficientBalance) // 12400
	d := w.do(t, prepaid("p1", 1, 1), env(t, t0))                                // 6200
	if got := events[*domain.Charged](d.Account); len(got) != 1 || !got[0].Amount.Equal(domain.MustMoney("6200")) {
		t.Fatalf("charged %v", got)
	}
	if left, _ := w.account.Balance(t0); !left.Equal(domain.MustMoney("3800")) {
		t.Fatalf("balance %s, want 3800", left)
	}
}

// R9: prepaid deployment pools only in cn-north-4; pay-per-use anywhere.
func TestR9PrepaidDeploymentRegion(t *testing.T) {
	t.Parallel()
	var w world
	c := prepaid("p1", 1, 1)
	c.Type = domain.Deployment
	w.do(t, c, env(t, t0))
	var w2 world
	c2 := ppu("p2", 1)
	c2.Type, c2.Region = domain.Deployment, sg1
	w2.do(t, c2, env(t, t0))
}

// R10, R11: networks and AZs of deployment pools.
func TestR10R11DeploymentNetworkAndAZ(t *testing.T) {
	t.Parallel()
	var w world
	c := ppu("p1", 5)
	c.Type = domain.Deployment
	c.Network = &domain.Network{VPC: "v", Subnet: "s", SecurityGroup: "g"}
	d := w.do(t, c, env(t, t0))
	cr := d.Pool[0].(*domain.Created)
	if cr.AZ != domain.AZRandom || cr.Network == nil {
		t.Fatalf("AZ %q network %v", cr.AZ, cr.Network)
	}
	var azs []string
	for _, n := range events[*domain.NodeAdded](d.Pool) {
		azs = append(azs, n.AZ)
	}
	if strings.Join(azs, ",") != "az1,az2,az3,az1,az2" {
		t.Fatalf("random spreads in turn, deterministically: %v", azs)
	}
	var w2 world
	c2 := ppu("p2", 2)
	c2.Type, c2.AZ = domain.Deployment, domain.AZ2
	for _, n := range events[*domain.NodeAdded](w2.do(t, c2, env(t, t0)).Pool) {
		if n.AZ != domain.AZ2 {
			t.Fatalf("az2 pool got a node in %s", n.AZ)
		}
	}
}

// R13: a created pool is running at once, with its nodes; billing starts at
// creation (its term starts at the instant of purchase).
func TestR13CreatedPoolIsRunning(t *testing.T) {
	t.Parallel()
	var w world
	now := at(2026, 1, 31, 10, 30, 0)
	w.do(t, prepaid("p1", 3, 1), env(t, now))
	if w.pool.Status() != domain.StatusRunning || len(w.pool.Nodes) != 3 {
		t.Fatalf("status %s nodes %d", w.pool.Status(), len(w.pool.Nodes))
	}
	if !w.pool.Term.Start.Equal(now) || !w.pool.Term.End.Equal(at(2026, 3, 1, 0, 0, 0)) {
		t.Fatalf("term %v", w.pool.Term)
	}
	for i, n := range w.pool.Nodes {
		if n.ID != domain.NodeName(i+1) || !n.Added.Equal(now) {
			t.Fatalf("node %d: %+v", i, n)
		}
	}
}

// R27: an account in arrears cannot create pools.
func TestR27InArrearsCannotCreate(t *testing.T) {
	t.Parallel()
	var w world
	w.account.Arrears = true
	w.reject(t, ppu("p1", 1), env(t, t0), domain.CodeInArrears)
}

// R31: money is never negative and never a float.
func TestR31MoneyNeverNegative(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"-1", "-0.01", "1e3x", "NaN", "Inf", "", "1,5", "0x10"} {
		if _, err := domain.ParseMoney(s); err == nil {
			t.Errorf("ParseMoney(%q) accepted", s)
		}
	}
	a := domain.MustMoney("0.1")
	b := domain.MustMoney("0.2")
	if !a.Add(b).Equal(domain.MustMoney("0.3")) {
		t.Fatal("0.1 + 0.2 != 0.3: binary floating point crept in")
	}
	if _, ok := a.Sub(b); ok {
		t.Fatal("0.1 - 0.2 went negative")
	}
	if got := a.SubFloor(b); !got.IsZero() {
		t.Fatalf("SubFloor %s", got)
	}
	if got := domain.MustMoney("2.345").Round(2, domain.RoundHalfUp).String(); got != "2.35" {
		t.Fatalf("half up %s", got)
	}
	if got := domain.MustMoney("2.345").Round(2, domain.RoundHalfEven).String(); got != "2.34" {
		t.Fatalf("half even %s", got)
	}
}
