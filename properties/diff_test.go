package properties_test

import (
	"fmt"
	"reflect"
	"time"

	"github.com/shopspring/decimal"

	"github.com/respool/respool/domain"
)

var (
	typeTime    = reflect.TypeOf(time.Time{})
	typeMoney   = reflect.TypeOf(domain.Money{})
	typeDecimal = reflect.TypeOf(decimal.Decimal{})
	typeAccrual = reflect.TypeOf(domain.Accrual{})
	typeLoc     = reflect.TypeOf((*time.Location)(nil))
)

// diff compares two values by meaning and returns the path of the first
// difference, or "": instants with Equal (whatever their zone), money and
// decimals by amount (2.50 is 2.5), accruals exactly, slices by their
// elements (nil and empty alike), maps by their entries; unexported fields
// are left out (they are caches and bookkeeping; the exported ones and the
// behaviour say what a value is).
func diff(a, b any) string {
	return diffValue("", reflect.ValueOf(a), reflect.ValueOf(b))
}

func diffValue(path string, a, b reflect.Value) string {
	if !a.IsValid() || !b.IsValid() {
		if a.IsValid() != b.IsValid() {
			return path + ": one is missing"
		}
		return ""
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: %s vs %s", path, a.Type(), b.Type())
	}
	switch a.Type() {
	case typeTime:
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) {
			return fmt.Sprintf("%s: %s vs %s", path, ta.UTC().Format(time.RFC3339Nano), tb.UTC().Format(time.RFC3339Nano))
		}
		return ""
	case typeMoney:
		ma, mb := a.Interface().(domain.Money), b.Interface().(domain.Money)
		if !ma.Equal(mb) {
			return fmt.Sprintf("%s: %s vs %s", path, ma, mb)
		}
		return ""
	case typeDecimal:
		da, db := a.Interface().(decimal.Decimal), b.Interface().(decimal.Decimal)
		if !da.Equal(db) {
			return fmt.Sprintf("%s: %s vs %s", path, da, db)
		}
		return ""
	case typeAccrual:
		aa, ab := a.Interface().(domain.Accrual), b.Interface().(domain.Accrual)
		if aa.CmpAccrual(ab) != 0 {
			return fmt.Sprintf("%s: %s vs %s", path, aa.Exact(), ab.Exact())
		}
		return ""
	case typeLoc:
		return "" // a zone is how an instant is shown, not what it is
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil vs not nil"
			}
			return ""
		}
		return diffValue(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			f := a.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if d := diffValue(path+"."+f.Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d elements", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d entries", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			vb := b.MapIndex(k)
			if !vb.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := diffValue(fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), vb); d != "" {
				return d
			}
		}
		return ""
	case reflect.Func, reflect.Chan:
		return ""
	}
	if a.CanInterface() && b.CanInterface() && !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface())
	}
	return ""
}
