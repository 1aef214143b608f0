package simulator

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteTable writes the report as text for people: a summary of the
// variants, then each variant's pools, rejections and insight.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	cur := ""
	if len(r.Variants) > 0 {
		cur = r.Variants[0].Currency
	}
	fmt.Fprintf(ew, "%s\n", r.Scenario)
	fmt.Fprintf(ew, "%s to %s (%.1f months, billing zone %s), amounts in %s\n\n",
		shortTime(r.Start), shortTime(r.End), r.Months, r.Zone, cur)

	t := textTable{head: []string{"VARIANT", "TOTAL", "VS BASE", "PER MONTH", "PER NODE-HOUR", "REJECTED"}, right: []bool{false, true, true, true, true, true}}
	for i, v := range r.Variants {
		vs := "-"
		if i > 0 {
			vs = signedDelta(v.Insight.SavingVsBase, v.Insight.SavingPercent)
		}
		t.add(v.Name, group(v.Total), vs, group(v.Insight.MonthlyAverage), v.Insight.HourlyPerNode.String(), strconv.Itoa(len(v.Rejected)))
	}
	t.write(ew, "")
	for _, line := range r.verdict() {
		fmt.Fprintf(ew, "\n%s", line)
	}
	if len(r.Variants) > 1 {
		fmt.Fprintln(ew)
	}

	for _, v := range r.Variants {
		fmt.Fprintf(ew, "\n== %s", v.Name)
		if len(v.Changes) > 0 {
			fmt.Fprintf(ew, " (%s)", strings.Join(v.Changes, "; "))
		}
		fmt.Fprintf(ew, ": %s %s\n", group(v.Total), cur)
		if len(v.Pools) > 0 {
			t := textTable{
				head:  []string{"POOL", "BILLING", "STATUS", "NODES", "RENEWALS", "PAID THROUGH", "CHARGED", "PREPAID", "PAY-PER-USE", "NODE-HOURS", "PER NODE-HOUR"},
				right: []bool{false, false, false, true, true, false, true, true, true, true, true},
			}
			azs := false
			for _, p := range v.Pools {
				azs = azs || p.Type == "deployment"
			}
			if azs {
				t.head = append(t.head, "AZS")
				t.right = append(t.right, false)
			}
			for _, p := range v.Pools {
				status := p.Status
				if p.Status != "running" {
					status += " " + shortDate(p.StatusSince)
				}
				row := []string{p.ID, p.Billing, status, strconv.Itoa(p.Nodes), strconv.Itoa(p.Renewals), paidThrough(p.Expiry),
					group(p.Charged), group(p.Prepaid), group(p.PayPerUse), groupFloat(p.NodeHours), p.HourlyPerNode.String()}
				if azs {
					row = append(row, azText(p))
				}
				t.add(row...)
			}
			t.write(ew, "  ")
			for _, p := range v.Pools {
				if line := lifeText(p); line != "" {
					fmt.Fprintf(ew, "  %s: %s.\n", p.ID, line)
				}
			}
		} else {
			fmt.Fprintln(ew, "  no pool was created")
		}
		if len(v.Rejected) > 0 {
			fmt.Fprintf(ew, "  Rejected (%d):\n", len(v.Rejected))
			for _, x := range v.Rejected {
				what := x.Pool
				if what == "" {
					what = "account " + x.Account
				}
				rule := x.Code
				if x.Rule != "" {
					rule += " (" + x.Rule + ")"
				}
				fmt.Fprintf(ew, "    %s  %s %s: %s: %s [line %d]\n", shortTime(x.At), x.Action, what, rule, x.Message, x.Line)
			}
		}
		if x := v.Insight.VsBase; x != nil {
			fmt.Fprintf(ew, "  %s.\n", capitalize(x.Summary))
		}
		for _, b := range v.Insight.BreakEven {
			fmt.Fprintf(ew, "  %s: %s.\n", b.Pool, b.Summary)
		}
	}
	return ew.err
}

// verdict says which variant is cheapest, and warns when it is cheap
// because the rules refused some of its steps.
func (r *Report) verdict() []string {
	if len(r.Variants) < 2 {
		return nil
	}
	cur := r.Variants[0].Currency
	best := r.cheapest()
	if best == 0 {
		line := "Cheapest: base, as written."
		fewest := 0
		for i, v := range r.Variants {
			if len(v.Rejected) < len(r.Variants[fewest].Rejected) {
				fewest = i
			}
		}
		if fewest > 0 {
			line += fmt.Sprintf(" But the rules refused %s of its steps that %s carried out: it may be cheap because it does less.",
				countText(len(r.Variants[0].Rejected)-len(r.Variants[fewest].Rejected)), r.Variants[fewest].Name)
		}
		return []string{line}
	}
	v := r.Variants[best]
	out := []string{fmt.Sprintf("Cheapest: %s, %s %s (%.1f%%) less than base.", v.Name, group(v.Insight.SavingVsBase), cur, v.Insight.SavingPercent)}
	base := len(r.Variants[0].Rejected)
	if len(v.Rejected) > base {
		out[0] += fmt.Sprintf(" But the rules refused %s of its steps that base carried out: it may be cheap because it does less.",
			countText(len(v.Rejected)-base))
		if alt := r.cheapestComplete(); alt > 0 {
			a := r.Variants[alt]
			out = append(out, fmt.Sprintf("Cheapest that does everything base does: %s, %s %s (%.1f%%) less than base.",
				a.Name, group(a.Insight.SavingVsBase), cur, a.Insight.SavingPercent))
		}
	}
	return out
}

func countText(n int) string {
	words := []string{"none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}
	if n < len(words) {
		return words[n]
	}
	return strconv.Itoa(n)
}

// paidThrough is the expiry date of a prepaid pool's latest term (R22),
// "-" for pay-per-use.
func paidThrough(expiry string) string {
	t, err := time.Parse(time.RFC3339, expiry)
	if err != nil {
		return "-"
	}
	return t.Add(-time.Nanosecond).Format("2006-01-02") // the term's end is exclusive
}

// azText writes a pool's nodes per AZ: "az1:2 az2:2 az3:2".
func azText(p PoolReport) string {
	if p.Type != "deployment" || len(p.AZs) == 0 {
		return "-"
	}
	var parts []string
	for _, az := range sortedKeys(p.AZs) {
		parts = append(parts, fmt.Sprintf("%s:%d", az, p.AZs[az]))
	}
	return strings.Join(parts, " ")
}

// lifeText tells what happened to a pool that left running: its failed
// renewals and status changes, or "" if there is nothing to tell.
func lifeText(p PoolReport) string {
	var parts []string
	if p.RenewalsFailed > 0 {
		parts = append(parts, fmt.Sprintf("%s failed for lack of balance", plural(p.RenewalsFailed, "auto-renewal attempt")))
	}
	for _, h := range p.History {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", h.Status, shortTime(h.At), strings.ReplaceAll(h.Reason, "_", " ")))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// cheapestComplete returns the index of the cheapest variant cheaper than
// base whose steps the rules refused no more often than base's, or 0.
func (r *Report) cheapestComplete() int {
	alt := 0
	for i := 1; i < len(r.Variants); i++ {
		if len(r.Variants[i].Rejected) <= len(r.Variants[0].Rejected) && r.Variants[i].Total.d.LessThan(r.Variants[alt].Total.d) {
			alt = i
		}
	}
	return alt
}

// cheapest returns the index of the cheapest variant other than base that
// is cheaper than base, or 0.
func (r *Report) cheapest() int {
	best := 0
	for i := 1; i < len(r.Variants); i++ {
		if r.Variants[i].Total.d.LessThan(r.Variants[best].Total.d) {
			best = i
		}
	}
	return best
}

// WriteCSV writes the report as one CSV table in long form: a row per pool
// (record "pool"), per rejection ("rejected") and per variant total
// ("total"), with the columns that apply to each filled in.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"variant", "record", "pool", "account", "at", "action", "code", "billing", "status", "nodes", "renewals",
		"charged", "prepaid", "pay_per_use", "node_hours", "currency"})
	for _, v := range r.Variants {
		for _, p := range v.Pools {
			cw.Write([]string{v.Name, "pool", p.ID, p.Account, "", "", "", p.Billing, p.Status, strconv.Itoa(p.Nodes), strconv.Itoa(p.Renewals),
				p.Charged.String(), p.Prepaid.String(), p.PayPerUse.String(), strconv.FormatFloat(p.NodeHours, 'f', 2, 64), v.Currency})
		}
		for _, x := range v.Rejected {
			cw.Write([]string{v.Name, "rejected", x.Pool, x.Account, x.At, x.Action, x.Code, "", "", "", "", "", "", "", "", ""})
		}
		cw.Write([]string{v.Name, "total", "", "", "", "", "", "", "", "", "", v.Total.String(), "", "", strconv.FormatFloat(v.Insight.NodeHours, 'f', 2, 64), v.Currency})
	}
	cw.Flush()
	return cw.Error()
}

// textTable lays out columns of text, each left or right aligned.
type textTable struct {
	head  []string
	right []bool
	rows  [][]string
}

func (t *textTable) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *textTable) write(w io.Writer, indent string) {
	width := make([]int, len(t.head))
	for _, row := range append([][]string{t.head}, t.rows...) {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i > 0 {
				b.WriteString("  ")
			}
			if t.right[i] {
				b.WriteString(pad + c)
			} else if i < len(row)-1 {
				b.WriteString(c + pad)
			} else {
				b.WriteString(c)
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

// shortTime writes an RFC 3339 instant as "2026-03-01 00:00", keeping its
// offset out: every time of a report is in the billing zone.
func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02 15:04")
}

// shortDate writes an RFC 3339 instant as its date, "2026-03-01".
func shortDate(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02")
}

// group writes an amount with thousands separators: 1,234,567.89.
func group(a Amount) string { return groupDigits(a.String()) }

func groupFloat(f float64) string { return groupDigits(strconv.FormatFloat(f, 'f', 0, 64)) }

func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String() + frac
}

// signedDelta writes a variant's difference from base: "-291,100.00
// (-54.0%)" when it costs less, "+1,200.00 (+0.4%)" when it costs more.
func signedDelta(saving Amount, pct float64) string {
	d := Amount{saving.d.Neg()}
	s := group(d)
	if d.d.Sign() > 0 {
		s = "+" + s
	}
	if pct == 0 {
		return s + " (0.0%)"
	}
	return fmt.Sprintf("%s (%+.1f%%)", s, -pct)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
