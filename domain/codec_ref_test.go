package domain

// The reflection-based codec this package started with, kept as the
// reference that the hand-written codec must agree with byte for byte
// (TestCodecMatchesReference, FuzzCodecMatchesReference).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// wire is the JSON form of every event: the common fields, then the fields of
// each type (omitted when empty). Field names are part of the stored format:
// never rename one; the golden files in testdata/ fail if one drifts.
type wire struct {
	V       int       `json:"v"`
	Pool    PoolID    `json:"pool,omitempty"`
	Account AccountID `json:"account"`
	At      time.Time `json:"at"`
	Command CommandID `json:"command"`

	Name        string           `json:"name,omitempty"`
	Description string           `json:"description,omitempty"`
	Type        PoolType         `json:"type,omitempty"`
	Billing     Billing          `json:"billing,omitempty"`
	Flavor      FlavorID         `json:"flavor,omitempty"`
	Kind        Kind             `json:"kind,omitempty"`
	Region      string           `json:"region,omitempty"`
	AZ          string           `json:"az,omitempty"`
	Network     *Network         `json:"network,omitempty"`
	Prices      *wirePx          `json:"prices,omitempty"`
	Nodes       int              `json:"nodes,omitempty"`
	Term        *wireTerm        `json:"term,omitempty"`
	Charge      *Money           `json:"charge,omitempty"`
	ListPrice   *Money           `json:"list_price,omitempty"`
	AutoRenew   bool             `json:"auto_renew,omitempty"`
	Node        NodeID           `json:"node,omitempty"`
	Automatic   bool             `json:"automatic,omitempty"`
	Months      int              `json:"months,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	On          bool             `json:"on,omitempty"`
	From        Status           `json:"from,omitempty"`
	To          Status           `json:"to,omitempty"`
	Quota       map[FlavorID]int `json:"quota,omitempty"`
	Limited     bool             `json:"limited,omitempty"`
	Balance     *Money           `json:"balance,omitempty"`
	Amount      *Money           `json:"amount,omitempty"`
	Rate        *Money           `json:"rate,omitempty"`
}

type wirePx struct {
	Currency string `json:"currency"`
	Hourly   Money  `json:"hourly"`
	Monthly  Money  `json:"monthly"`
	Yearly   Money  `json:"yearly"`
}

type wireTerm struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Months int       `json:"months"`
}

func refMp(m Money) *Money { return &m }

func refTermOf(t Term) *wireTerm {
	if t.Start.IsZero() && t.End.IsZero() {
		return nil
	}
	return &wireTerm{Start: t.Start.UTC(), End: t.End.UTC(), Months: t.Months}
}

// Encode returns the event's stable type name and its JSON payload.
func refEncode(e Event) (string, []byte, error) {
	m := e.EventMeta()
	w := wire{V: CodecVersion, Pool: m.Pool, Account: m.Account, At: m.At.UTC(), Command: m.Command}
	switch e := e.(type) {
	case *Created:
		w.Name, w.Description, w.Type, w.Billing = e.Name, e.Description, e.Type, e.Billing
		w.Flavor, w.Kind, w.Region, w.AZ, w.Network = e.Flavor, e.Kind, e.Region, e.AZ, e.Network
		w.Prices = &wirePx{e.Prices.Currency, e.Prices.Hourly, e.Prices.Monthly, e.Prices.Yearly}
		w.Nodes, w.AutoRenew = e.Nodes, e.AutoRenew
		if e.Billing == Prepaid {
			w.Term, w.Charge, w.ListPrice = refTermOf(e.Term), refMp(e.Charge), refMp(e.ListPrice)
		}
	case *NodeAdded:
		w.Node, w.AZ = e.Node, e.AZ
	case *NodeRemoved:
		w.Node = e.Node
	case *Renewed:
		w.Term, w.Charge, w.ListPrice, w.Automatic = refTermOf(e.Term), refMp(e.Charge), refMp(e.ListPrice), e.Automatic
	case *RenewalFailed:
		w.Months, w.Charge, w.Reason = e.Months, refMp(e.Charge), string(e.Reason)
	case *AutoRenewalChanged:
		w.On, w.Months = e.On, e.Months
	case *StatusChanged:
		w.From, w.To, w.Reason = e.From, e.To, e.Reason
	case *Deleted:
		w.Reason = e.Reason
	case *AccountOpened:
		w.Quota, w.Limited = e.Quota, e.Limited
		if e.Limited {
			w.Balance = refMp(e.Balance)
		}
	case *QuotaUsed:
		w.Flavor, w.Nodes = e.Flavor, e.Nodes
	case *QuotaFreed:
		w.Flavor, w.Nodes = e.Flavor, e.Nodes
	case *Charged:
		w.Amount = refMp(e.Amount)
	case *Refunded:
		w.Amount = refMp(e.Amount)
	case *ToppedUp:
		w.Amount = refMp(e.Amount)
	case *RateChanged:
		w.Rate = refMp(e.Rate)
	case *ArrearsStarted, *ArrearsCleared:
	case *StockTaken:
		w.Flavor, w.Region, w.Nodes = e.Flavor, e.Region, e.Nodes
	case *StockReturned:
		w.Flavor, w.Region, w.Nodes = e.Flavor, e.Region, e.Nodes
	default:
		return "", nil, fmt.Errorf("domain: cannot encode %T: not an event of this package", e)
	}
	b, err := json.Marshal(&w)
	if err != nil {
		return "", nil, fmt.Errorf("domain: encode %s: %w", e.EventType(), err)
	}
	return e.EventType(), b, nil
}

func refDecodeErr(typ, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrDecode, typ, fmt.Sprintf(format, args...))
}

func refMoneyOr(m *Money) Money {
	if m == nil {
		return Zero
	}
	return *m
}

func refTermFrom(t *wireTerm) Term {
	if t == nil {
		return Term{}
	}
	return Term{Start: t.Start, End: t.End, Months: t.Months}
}

// Decode reads an event written by Encode. Any other input, including
// truncated or foreign JSON, an unknown type name or a payload of another
// version, is an error wrapping ErrDecode; it never panics.
func refDecode(typ string, data []byte) (Event, error) {
	var w wire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, refDecodeErr(typ, "%v", err)
	}
	if dec.More() {
		return nil, refDecodeErr(typ, "trailing data after the payload")
	}
	if w.V != CodecVersion {
		return nil, refDecodeErr(typ, "payload version %d, this codec reads %d", w.V, CodecVersion)
	}
	if w.Account == "" || w.Command == "" || w.At.IsZero() {
		return nil, refDecodeErr(typ, "account, command and at are required")
	}
	m := Meta{Pool: w.Pool, Account: w.Account, At: w.At, Command: w.Command}
	needPool := func() error {
		if w.Pool == "" {
			return refDecodeErr(typ, "pool is required")
		}
		return nil
	}
	var e Event
	switch typ {
	case TypeCreated:
		c := &Created{Meta: m, Name: w.Name, Description: w.Description, Type: w.Type, Billing: w.Billing,
			Flavor: w.Flavor, Kind: w.Kind, Region: w.Region, AZ: w.AZ, Network: w.Network, Nodes: w.Nodes,
			Term: refTermFrom(w.Term), Charge: refMoneyOr(w.Charge), ListPrice: refMoneyOr(w.ListPrice), AutoRenew: w.AutoRenew}
		if w.Prices == nil {
			return nil, refDecodeErr(typ, "prices are required")
		}
		c.Prices = Prices{w.Prices.Currency, w.Prices.Hourly, w.Prices.Monthly, w.Prices.Yearly}
		if c.Type != Training && c.Type != Deployment || c.Billing != PayPerUse && c.Billing != Prepaid {
			return nil, refDecodeErr(typ, "type %q or billing %q is not known", c.Type, c.Billing)
		}
		e = c
	case TypeNodeAdded:
		e = &NodeAdded{Meta: m, Node: w.Node, AZ: w.AZ}
	case TypeNodeRemoved:
		e = &NodeRemoved{Meta: m, Node: w.Node}
	case TypeRenewed:
		e = &Renewed{Meta: m, Term: refTermFrom(w.Term), Charge: refMoneyOr(w.Charge), ListPrice: refMoneyOr(w.ListPrice), Automatic: w.Automatic}
	case TypeRenewalFailed:
		e = &RenewalFailed{Meta: m, Months: w.Months, Charge: refMoneyOr(w.Charge), Reason: Code(w.Reason)}
	case TypeAutoRenewalChanged:
		e = &AutoRenewalChanged{Meta: m, On: w.On, Months: w.Months}
	case TypeStatusChanged:
		e = &StatusChanged{Meta: m, From: w.From, To: w.To, Reason: w.Reason}
	case TypeDeleted:
		e = &Deleted{Meta: m, Reason: w.Reason}
	case TypeAccountOpened:
		e = &AccountOpened{Meta: m, Quota: w.Quota, Limited: w.Limited, Balance: refMoneyOr(w.Balance)}
	case TypeQuotaUsed:
		e = &QuotaUsed{Meta: m, Flavor: w.Flavor, Nodes: w.Nodes}
	case TypeQuotaFreed:
		e = &QuotaFreed{Meta: m, Flavor: w.Flavor, Nodes: w.Nodes}
	case TypeCharged:
		e = &Charged{Meta: m, Amount: refMoneyOr(w.Amount)}
	case TypeRefunded:
		e = &Refunded{Meta: m, Amount: refMoneyOr(w.Amount)}
	case TypeToppedUp:
		e = &ToppedUp{Meta: m, Amount: refMoneyOr(w.Amount)}
	case TypeRateChanged:
		e = &RateChanged{Meta: m, Rate: refMoneyOr(w.Rate)}
	case TypeArrearsStarted:
		e = &ArrearsStarted{Meta: m}
	case TypeArrearsCleared:
		e = &ArrearsCleared{Meta: m}
	case TypeStockTaken:
		e = &StockTaken{Meta: m, Flavor: w.Flavor, Region: w.Region, Nodes: w.Nodes}
	case TypeStockReturned:
		e = &StockReturned{Meta: m, Flavor: w.Flavor, Region: w.Region, Nodes: w.Nodes}
	default:
		return nil, refDecodeErr(typ, "unknown event type")
	}
	if len(typ) > 5 && typ[:5] == "pool." {
		if err := needPool(); err != nil {
			return nil, err
		}
	}
	if w.Nodes < 0 {
		return nil, refDecodeErr(typ, "negative node count %d", w.Nodes)
	}
	return e, nil
}
