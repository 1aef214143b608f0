package domain_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainIsPure checks STYLE 1: domain imports only the standard library
// and shopspring/decimal (no I/O packages of ours, no other modules).
func TestDomainIsPure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/respool/respool/domain").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		first := strings.SplitN(p, "/", 2)[0]
		if !strings.Contains(first, ".") { // standard library
			continue
		}
		if p == "github.com/respool/respool/domain" || p == "github.com/shopspring/decimal" {
			continue
		}
		t.Errorf("domain depends on %s; it may import only the standard library and shopspring/decimal", p)
	}
}
