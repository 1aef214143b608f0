package domain_test

import (
	"testing"
	"time"

	"github.com/respool/respool/domain"
)

// R28: price per hour x seconds / 3600, exact, per node.
func TestR28AccrualPerSecond(t *testing.T) {
	t.Parallel()
	h := domain.MustMoney("12.50")
	tests := []struct {
		name  string
		nodes int
		d     time.Duration
		want  string // 8 places
	}{
		{"one hour", 1, time.Hour, "12.5"},
		{"one second", 1, time.Second, "0.00347222"},
		{"added and removed in the same second", 3, 0, "0"},
		{"four nodes, 90 minutes", 4, 90 * time.Minute, "75"},
		{"a negative span accrues nothing", 1, -time.Hour, "0"},
	}
	for _, tt := range tests {
		if got := domain.AccrualFor(h, tt.nodes, tt.d).Money(8, domain.RoundHalfUp); !got.Equal(domain.MustMoney(tt.want)) {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	// Exact: 3600 one-second accruals add up to one hour, to the last digit.
	var sum domain.Accrual
	for i := 0; i < 3600; i++ {
		sum = sum.Add(domain.AccrualFor(h, 1, time.Second))
	}
	if sum.CmpAccrual(domain.AccrualFor(h, 1, time.Hour)) != 0 || sum.Cmp(h) != 0 {
		t.Fatalf("3600 seconds = %s, want exactly %s", sum.Exact(), h)
	}
}
