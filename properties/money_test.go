package properties_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leanovate/gopter/gen"
	"github.com/leanovate/gopter/prop"
	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
	"github.com/respool/respool/projections"
	"github.com/respool/respool/respooltest"
)

// moneyWalk calls fn with every Money, decimal and accrual reachable from v
// through exported fields, slices, maps and pointers, with its path, and
// reports every float it meets.
func moneyWalk(path string, v reflect.Value, fn func(path string, d decimal.Decimal), floats func(path string)) {
	if !v.IsValid() {
		return
	}
	switch v.Type() {
	case typeMoney:
		fn(path, v.Interface().(domain.Money).Decimal())
		return
	case typeDecimal:
		fn(path, v.Interface().(decimal.Decimal))
		return
	case typeAccrual:
		fn(path, v.Interface().(domain.Accrual).PriceSeconds())
		return
	case typeTime, typeLoc:
		return
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		floats(path)
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			moneyWalk(path, v.Elem(), fn, floats)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				moneyWalk(path+"."+f.Name, v.Field(i), fn, floats)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			moneyWalk(fmt.Sprintf("%s[%d]", path, i), v.Index(i), fn, floats)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			moneyWalk(fmt.Sprintf("%s[%v]", path, k), v.MapIndex(k), fn, floats)
		}
	}
}

// floatFields lists the float fields reachable from type t.
func floatFields(t reflect.Type, path string, seen map[reflect.Type]bool, out *[]string) {
	switch t {
	case typeMoney, typeDecimal, typeAccrual, typeTime, typeLoc:
		return
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		*out = append(*out, path)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		floatFields(t.Elem(), path+"[]", seen, out)
	case reflect.Map:
		floatFields(t.Key(), path+"{key}", seen, out)
		floatFields(t.Elem(), path+"{}", seen, out)
	case reflect.Struct:
		if seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			floatFields(t.Field(i).Type, path+"."+t.Field(i).Name, seen, out)
		}
	}
}

// jsonFloats reports the JSON numbers of payload that are not integers,
// and the money fields that are not strings.
func jsonFloats(payload []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []string{err.Error()}
	}
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case json.Number:
			if strings.ContainsAny(string(v), ".eE") {
				out = append(out, path+"="+string(v))
			}
			switch path[strings.LastIndex(path, ".")+1:] {
			case "charge", "list_price", "hourly", "monthly", "yearly", "amount", "balance", "rate":
				out = append(out, path+" is a number, not a decimal string")
			}
		case map[string]any:
			for k, x := range v {
				walk(path+"."+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), x)
			}
		}
	}
	walk("", v)
	return out
}

// Property 8 (R31): nothing is negative and no money is a float: every
// amount in the events, the states and the projections' answers is a
// non-negative decimal; the stored payloads write money as decimal strings;
// no type that holds money has a float field; and Money's operations never
// make a negative amount.
func TestProperty08_NoNegativeNoFloat_R31(t *testing.T) {
	t.Run("types", func(t *testing.T) {
		var found []string
		for _, v := range []any{
			domain.Created{}, domain.NodeAdded{}, domain.NodeRemoved{}, domain.Renewed{}, domain.RenewalFailed{},
			domain.AutoRenewalChanged{}, domain.StatusChanged{}, domain.Deleted{}, domain.AccountOpened{}, domain.QuotaUsed{},
			domain.QuotaFreed{}, domain.Charged{}, domain.Refunded{}, domain.ToppedUp{}, domain.RateChanged{},
			domain.ArrearsStarted{}, domain.ArrearsCleared{}, domain.StockTaken{}, domain.StockReturned{},
			domain.Pool{}, domain.Account{}, domain.Stock{}, domain.Flavor{}, domain.Prices{}, domain.Policy{},
			projections.Amount{}, projections.Record{}, projections.Month{}, projections.PrepaidLine{},
			projections.PoolInfo{}, projections.Node{}, projections.StockLevel{}, projections.QuotaLevel{},
		} {
			floatFields(reflect.TypeOf(v), reflect.TypeOf(v).String(), map[reflect.Type]bool{}, &found)
		}
		if len(found) > 0 {
			t.Errorf("float fields where money lives (R31): %v", found)
		}
	})
	t.Run("money", func(t *testing.T) {
		check(t, prop.ForAll(func(a, b domain.Money, n int64, places int32) string {
			if d, ok := a.Sub(b); ok != (a.Cmp(b) >= 0) || d.Decimal().Sign() < 0 {
				return fmt.Sprintf("%s - %s = %s, %v", a, b, d, ok)
			}
			for _, m := range []domain.Money{a.Add(b), a.SubFloor(b), b.SubFloor(a), a.Mul(n), a.Round(places, domain.RoundHalfUp), a.Round(places, domain.RoundHalfEven)} {
				if m.Decimal().Sign() < 0 {
					return "a negative amount: " + m.String()
				}
			}
			neg := "-" + a.String()
			if a.IsZero() {
				neg = "-0.01"
			}
			if _, err := domain.ParseMoney(neg); err == nil {
				return "ParseMoney accepts " + neg
			}
			if _, err := domain.MoneyFromDecimal(a.Decimal().Neg().Sub(decimal.New(1, -9))); !errors.Is(err, domain.ErrNegativeMoney) {
				return "MoneyFromDecimal accepts a negative amount"
			}
			var m domain.Money
			if err := m.UnmarshalText([]byte(neg)); err == nil {
				return "UnmarshalText accepts " + neg
			}
			if acc := domain.AccrualFor(a, int(n%100), 0); acc.Money(places, domain.RoundHalfUp).Decimal().Sign() < 0 {
				return "a negative accrual"
			}
			return ""
		}, respooltest.GenFlavorPrice(), respooltest.GenFlavorPrice(), gen.Int64Range(0, 1000), gen.Int32Range(0, 10)))
	})
	t.Run("outcomes", func(t *testing.T) {
		check(t, forTimelines(respooltest.TimelineOptions{MaxPools: 3}, func(o *respooltest.Outcome) string {
			var bad problems
			check := func(path string, d decimal.Decimal) {
				if d.Sign() < 0 {
					bad.add("%s is negative: %s", path, d)
				}
			}
			floats := func(path string) { bad.add("%s is a float", path) }
			for _, e := range o.Log {
				moneyWalk(e.Type, reflect.ValueOf(e.Event), check, floats)
				if fs := jsonFloats(e.Data); len(fs) > 0 {
					bad.add("%s payload %s: %v", e.Type, e.Data, fs)
				}
			}
			for _, id := range o.PoolIDs() {
				moneyWalk("pool "+string(id), reflect.ValueOf(o.Pool(id)), check, floats)
				evs := o.PoolEvents(id)
				for _, at := range samples(o, evs) {
					a, _ := o.Charges.AsOf(id, at)
					moneyWalk("AsOf "+string(id), reflect.ValueOf(a), check, floats)
				}
				c := createdOf(evs)
				moneyWalk("Records "+string(id), reflect.ValueOf(o.Charges.Records(id, c.At, c.At.Add(72*time.Hour))), check, floats)
				moneyWalk("Prepaid "+string(id), reflect.ValueOf(o.Charges.Prepaid(id)), check, floats)
			}
			for _, id := range o.AccountIDs() {
				a := o.Account(id)
				moneyWalk("account "+string(id), reflect.ValueOf(a), check, floats)
				if bal, ok := a.Balance(o.Timeline.End); ok {
					check("balance of "+string(id), bal.Decimal())
				}
				moneyWalk("AccountAsOf "+string(id), reflect.ValueOf(o.Charges.AccountAsOf(id, o.Timeline.End)), check, floats)
			}
			for _, r := range o.Results {
				moneyWalk("result", reflect.ValueOf(r.Events), check, floats)
			}
			return bad.String()
		}))
	})
}
