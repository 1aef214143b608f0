package simulator

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// palette holds colours that stay apart for colour-blind readers
// (Okabe-Ito), one per variant in order.
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D1F", "#000000"}

func colour(i int) string { return palette[i%len(palette)] }

// WriteHTML writes the report as one self-contained HTML page: no script,
// no external resource; the charts are inline SVG.
func (r *Report) WriteHTML(w io.Writer) error {
	cur := ""
	if len(r.Variants) > 0 {
		cur = r.Variants[0].Currency
	}
	best := r.cheapest()
	page := htmlPage{R: r, Currency: cur, Generated: "poolsim", Insights: r.verdict()}
	type beKey struct{ pool, summary string }
	beVariants := map[beKey][]string{}
	var beOrder []beKey
	for i, v := range r.Variants {
		c := htmlCard{Name: v.Name, Colour: colour(i), Total: group(v.Total), PerMonth: group(v.Insight.MonthlyAverage),
			PerNodeHour: v.Insight.HourlyPerNode.String(), Rejected: len(v.Rejected), Changes: strings.Join(v.Changes, "; "),
		}
		if i == best && len(r.Variants) > 1 {
			c.Badge, c.BadgeClass = "cheapest", "badge"
			if n := len(v.Rejected) - len(r.Variants[0].Rejected); n > 0 {
				c.Badge, c.BadgeClass = fmt.Sprintf("cheapest, but %d more refused", n), "badge warn"
			}
		} else if i == r.cheapestComplete() && i != best {
			c.Badge, c.BadgeClass = "cheapest that does it all", "badge"
		}
		if i > 0 {
			c.Delta = signedDelta(v.Insight.SavingVsBase, v.Insight.SavingPercent)
			c.Better = v.Insight.SavingVsBase.d.Sign() > 0
			c.Worse = v.Insight.SavingVsBase.d.Sign() < 0
		}
		page.Cards = append(page.Cards, c)
		if x := v.Insight.VsBase; x != nil {
			page.Insights = append(page.Insights, capitalize(x.Summary)+".")
		}
		for _, b := range v.Insight.BreakEven {
			k := beKey{b.Pool, b.Summary}
			if beVariants[k] == nil {
				beOrder = append(beOrder, k)
			}
			beVariants[k] = append(beVariants[k], v.Name)
		}
	}
	for _, k := range beOrder {
		page.Insights = append(page.Insights, fmt.Sprintf("%s (%s): %s.", k.pool, strings.Join(beVariants[k], ", "), k.summary))
	}
	for _, v := range r.Variants {
		var notes []string
		for _, p := range v.Pools {
			if line := lifeText(p); line != "" {
				notes = append(notes, p.ID+": "+line+".")
			}
		}
		page.Life = append(page.Life, notes)
	}
	page.Cumulative = template.HTML(r.cumulativeSVG())
	page.PerPool = template.HTML(r.poolsSVG())
	page.Monthly = template.HTML(r.monthlySVG())
	return htmlTemplate.Execute(w, page)
}

type htmlPage struct {
	R                            *Report
	Currency, Generated          string
	Cards                        []htmlCard
	Insights                     []string
	Life                         [][]string // per variant, what happened to pools that left running
	Cumulative, PerPool, Monthly template.HTML
}

type htmlCard struct {
	Name, Colour, Total, Delta, PerMonth, PerNodeHour, Changes string
	Rejected                                                   int
	Better, Worse                                              bool
	Badge, BadgeClass                                          string
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"group": group, "short": shortTime, "colour": colour, "hours": groupFloat, "date": shortDate, "azs": azText,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Scenario}} · poolsim</title>
<style>
:root{--ink:#1d2330;--muted:#5b6475;--line:#dfe3ea;--bg:#f6f7f9;--good:#0a7d43;--bad:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:1200px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:18px;margin:0 0 12px}
.sub{color:var(--muted);margin:0 0 22px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:0 0 18px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:14px;background:none;border:0;padding:0}
.card{background:#fff;border:1px solid var(--line);border-top:5px solid var(--c);border-radius:10px;padding:14px 16px}
.card h3{margin:0 0 6px;font-size:15px;display:flex;justify-content:space-between;align-items:center}
.badge{font-size:11px;font-weight:600;background:var(--good);color:#fff;border-radius:999px;padding:2px 8px;white-space:nowrap}
.badge.warn{background:#9a6700}
.total{font-size:24px;font-weight:650;font-variant-numeric:tabular-nums}
.total small{font-size:13px;color:var(--muted);font-weight:400}
.delta{font-weight:600;font-variant-numeric:tabular-nums}
.better{color:var(--good)}.worse{color:var(--bad)}
.kv{color:var(--muted);font-size:13px;margin-top:6px}
.kv b{color:var(--ink);font-weight:600;font-variant-numeric:tabular-nums}
.changes{font-size:12px;color:var(--muted);margin-top:6px}
ul.insights{margin:0;padding-left:20px}
ul.insights li{margin:4px 0}
table{border-collapse:collapse;width:100%;font-size:12.5px;margin:4px 0 14px}
th,td{text-align:left;padding:4px 7px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
h4{margin:10px 0 4px;font-size:14px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px;vertical-align:baseline}
.note{color:var(--muted);font-size:12px;margin:6px 0 0}
.life{margin:0 0 6px}
.status-deleted,.status-frozen{color:var(--bad)}.status-expired,.status-abnormal{color:#9a6700}
svg{display:block;max-width:100%;height:auto}
.scroll{overflow-x:auto}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#5b6475}
footer{color:var(--muted);font-size:12px;text-align:center}
</style></head>
<body><main>
<h1>{{.R.Scenario}}</h1>
<p class="sub">{{short .R.Start}} to {{short .R.End}} · {{printf "%.1f" .R.Months}} months · billing zone {{.R.Zone}} · amounts in {{.Currency}}</p>

<section class="cards">
{{range .Cards}}<div class="card" style="--c:{{.Colour}}">
<h3><span><span class="dot" style="background:{{.Colour}}"></span>{{.Name}}</span>{{if .Badge}}<span class="{{.BadgeClass}}">{{.Badge}}</span>{{end}}</h3>
<div class="total">{{.Total}} <small>{{$.Currency}}</small></div>
{{if .Delta}}<div class="delta {{if .Better}}better{{else if .Worse}}worse{{end}}">{{.Delta}} vs base</div>{{else}}<div class="delta">the scenario as written</div>{{end}}
<div class="kv">per month <b>{{.PerMonth}}</b> · per node-hour <b>{{.PerNodeHour}}</b>{{if .Rejected}} · rejected <b>{{.Rejected}}</b>{{end}}</div>
{{if .Changes}}<div class="changes">{{.Changes}}</div>{{end}}
</div>
{{end}}</section>

{{if .Insights}}<section><h2>What the numbers say</h2><ul class="insights">
{{range .Insights}}<li>{{.}}</li>
{{end}}</ul></section>{{end}}

<section><h2>Cumulative cost</h2>{{.Cumulative}}
<p class="note">What each variant has cost by each day: steps are prepaid terms bought, slopes are pay-per-use.</p></section>

<section><h2>Cost per pool</h2>{{.PerPool}}</section>

<section><h2>Spend per month</h2>{{.Monthly}}
<p class="note">Calendar months of the billing zone. Prepaid terms are charged in full when bought.</p></section>

<section class="scroll" id="pools"><h2>Pools at the end</h2>
{{range $i, $v := .R.Variants}}<h4><span class="dot" style="background:{{colour $i}}"></span>{{$v.Name}}</h4>
{{if $v.Pools}}<table><tr><th>pool</th><th>account</th><th>flavor</th><th>billing</th><th>status</th><th class="n">nodes</th><th class="n">renewals</th><th class="n">charged</th><th class="n">prepaid</th><th class="n">pay-per-use</th><th class="n">node-hours</th><th class="n">per node-hour</th><th>AZs</th></tr>
{{range $v.Pools}}<tr><td>{{.ID}}</td><td>{{.Account}}</td><td>{{.Flavor}}</td><td>{{.Billing}}</td><td class="status-{{.Status}}">{{.Status}}{{if ne .Status "running"}} {{date .StatusSince}}{{end}}</td><td class="n">{{.Nodes}}</td><td class="n">{{.Renewals}}</td><td class="n">{{group .Charged}}</td><td class="n">{{group .Prepaid}}</td><td class="n">{{group .PayPerUse}}</td><td class="n">{{hours .NodeHours}}</td><td class="n">{{.HourlyPerNode}}</td><td>{{azs .}}</td></tr>
{{end}}</table>{{range index $.Life $i}}<p class="note life">{{.}}</p>{{end}}{{else}}<p class="note">No pool was created.</p>{{end}}
{{if $v.Rejected}}<table><tr><th>at</th><th>action</th><th>pool</th><th>code</th><th>why</th><th class="n">line</th></tr>
{{range $v.Rejected}}<tr><td>{{short .At}}</td><td>{{.Action}}</td><td>{{if .Pool}}{{.Pool}}{{else}}account {{.Account}}{{end}}</td><td>{{.Code}}{{if .Rule}} ({{.Rule}}){{end}}</td><td style="white-space:normal">{{.Message}}</td><td class="n">{{.Line}}</td></tr>
{{end}}</table>{{end}}
{{end}}</section>
<footer>{{.R.File}} · simulated with poolsim · every amount is exact and rounded to 0.01 only for display</footer>
</main></body></html>
`))

// chart geometry shared by the charts.
const (
	chartW = 1000
	padL   = 78
	padR   = 20
	padT   = 16
)

// niceMax gives an axis from 0 to top >= v in four to six steps of 1, 2,
// 2.5 or 5 times a power of ten.
func niceMax(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.25
	}
	raw := v / 5
	exp := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*exp >= raw {
			step = m * exp
			break
		}
	}
	return math.Ceil(v/step-1e-9) * step, step
}

// shortAmount writes an axis label: 0, 250k, 1.2M.
func shortAmount(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "B"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.2f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	}
	return trimZero(fmt.Sprintf("%.2f", v))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func f(a Amount) float64 { v, _ := a.d.Float64(); return v }

func esc(s string) string { return html.EscapeString(s) }

// legend draws a row of variant names in their colours.
func (r *Report) legend(b *strings.Builder, y int) {
	x := padL
	for i, v := range r.Variants {
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" rx="2" fill="%s"/><text x="%d" y="%d" style="fill:#1d2330">%s</text>`,
			x, y-10, colour(i), x+17, y, esc(v.Name))
		x += 17 + 8*len(v.Name) + 26
	}
}

// yAxis draws horizontal grid lines and labels from 0 to top.
func yAxis(b *strings.Builder, top, step float64, y0, h int) {
	for v := 0.0; v <= top*1.0001; v += step {
		y := float64(y0+h) - v/top*float64(h)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e6e9ef"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-8, y+4, shortAmount(v))
	}
}

func (r *Report) cumulativeSVG() string {
	if len(r.Variants) == 0 || len(r.Variants[0].Cumulative.Values) == 0 {
		return ""
	}
	const h, legendH = 330, 28
	y0 := padT + legendH
	H := y0 + h + 36
	s0 := r.Variants[0].Cumulative
	start, end := s0.start, s0.end
	span := end.Sub(start).Seconds()
	maxV := 0.0
	for _, v := range r.Variants {
		for _, a := range v.Cumulative.Values {
			maxV = math.Max(maxV, f(a))
		}
	}
	top, step := niceMax(maxV)
	plotW := chartW - padL - padR
	xOf := func(t time.Time) float64 { return padL + t.Sub(start).Seconds()/span*float64(plotW) }
	yOf := func(v float64) float64 { return float64(y0+h) - v/top*float64(h) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="cumulative cost per variant">`, chartW, H)
	r.legend(&b, padT+12)
	yAxis(&b, top, step, y0, h)
	// x axis: month starts, or years on long runs
	ticks, format := timeTicks(start, end, r.zone())
	lastRight := -1.0
	for _, t := range ticks {
		x := xOf(t)
		label := format(t)
		w := 7 * float64(len(label))
		anchor, left := "middle", x-w/2
		switch {
		case x > chartW-padR-30:
			anchor, left = "end", x-w
		case x < padL+30:
			anchor, left = "start", x
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eef0f4"/>`, x, x, y0, y0+h)
		if left < lastRight+6 {
			continue // no room for its label
		}
		lastRight = left + w
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`, x, y0+h+18, anchor, esc(label))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#9aa3b2"/>`, padL, chartW-padR, y0+h, y0+h)
	for i := len(r.Variants) - 1; i >= 0; i-- { // base on top
		v := r.Variants[i]
		var pts strings.Builder
		for k, a := range v.Cumulative.Values {
			fmt.Fprintf(&pts, "%.1f,%.1f ", xOf(v.Cumulative.At(k)), yOf(f(a)))
		}
		width := 2.5
		if i == 0 {
			width = 3
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="%.1f" stroke-linejoin="round" points="%s"><title>%s</title></polyline>`,
			colour(i), width, strings.TrimSpace(pts.String()), esc(v.Name))
		last := v.Cumulative.Values[len(v.Cumulative.Values)-1]
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"/>`, xOf(end), yOf(f(last)), colour(i))
	}
	// where a variant overtakes base for good: a ring on the crossing,
	// labelled with its date; labels that would overlap move up
	var placed [][4]float64 // x0, y0, x1, y1 of labels drawn
	overlaps := func(r [4]float64) bool {
		for _, p := range placed {
			if r[0] < p[2] && p[0] < r[2] && r[1] < p[3] && p[1] < r[3] {
				return true
			}
		}
		return false
	}
	for i, v := range r.Variants {
		x := v.Insight.VsBase
		if x == nil || x.Since == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, x.Since)
		if err != nil || !t.After(start) || !t.Before(end) {
			continue
		}
		y := yOf(r.Variants[0].Cumulative.valueAt(t))
		cx := xOf(t)
		label := x.Cheaper + " cheaper from " + t.Format("Jan 2")
		w := 7.2 * float64(len(label))
		anchor := "end"
		if cx-10-w < float64(padL) { // it would run over the y axis
			anchor = "start"
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="6" fill="#fff" stroke="%s" stroke-width="2.5"><title>%s</title></circle>`,
			cx, y, colour(i), esc(capitalize(x.Summary)))
		dx := -10.0
		if anchor == "start" {
			dx = 10
		}
		ly := y - 10
		for k := 0; k < 20; k++ {
			x0 := cx + dx
			if anchor == "end" {
				x0 -= w
			}
			box := [4]float64{x0, ly - 12, x0 + w, ly + 3}
			if !overlaps(box) {
				placed = append(placed, box)
				break
			}
			ly -= 16
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="%s" style="fill:%s;font-weight:600">%s</text>`,
			cx+dx, ly, anchor, colour(i), esc(label))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (r *Report) zone() *time.Location {
	t, err := time.Parse(time.RFC3339, r.Start)
	if err != nil {
		return time.UTC
	}
	return t.Location()
}

// timeTicks returns the tick instants of an x axis from start to end and
// how to label them: days, months or years, whichever gives a readable
// count.
func timeTicks(start, end time.Time, loc *time.Location) ([]time.Time, func(time.Time) string) {
	s := start.In(loc)
	span := end.Sub(start)
	var out []time.Time
	switch {
	case span <= 45*24*time.Hour:
		every := max(1, int(span.Hours()/24/12))
		for t := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, loc); !t.After(end); t = t.AddDate(0, 0, every) {
			if !t.Before(start) {
				out = append(out, t)
			}
		}
		return out, func(t time.Time) string { return t.Format("Jan 2") }
	case span <= 3*366*24*time.Hour:
		every := 1
		if span > 400*24*time.Hour {
			every = 3
		}
		for t := time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, loc); !t.After(end); t = t.AddDate(0, every, 0) {
			if !t.Before(start) {
				out = append(out, t)
			}
		}
		return out, func(t time.Time) string {
			if t.Month() == time.January || t.Equal(out[0]) {
				return t.Format("Jan 2006")
			}
			return t.Format("Jan")
		}
	}
	every := max(1, int(span.Hours()/24/365/12)+1)
	for t := time.Date(s.Year(), 1, 1, 0, 0, 0, 0, loc); !t.After(end); t = t.AddDate(every, 0, 0) {
		if !t.Before(start) {
			out = append(out, t)
		}
	}
	return out, func(t time.Time) string { return t.Format("2006") }
}

func (r *Report) poolsSVG() string {
	// rows: every pool of any variant, in the order first seen
	var ids []string
	seen := map[string]bool{}
	for _, v := range r.Variants {
		for _, p := range v.Pools {
			if !seen[p.ID] {
				seen[p.ID] = true
				ids = append(ids, p.ID)
			}
		}
	}
	if len(ids) == 0 {
		return `<p class="note">No pool was created in any variant.</p>`
	}
	charged := make([]map[string]Amount, len(r.Variants))
	maxV := 0.0
	for i, v := range r.Variants {
		charged[i] = map[string]Amount{}
		for _, p := range v.Pools {
			charged[i][p.ID] = p.Charged
			maxV = math.Max(maxV, f(p.Charged))
		}
	}
	top, step := niceMax(maxV)
	const barH, gap, legendH = 16, 3, 28
	labelW := 150
	for _, id := range ids {
		labelW = max(labelW, 8*len(id)+20)
	}
	labelW = min(labelW, 320)
	groupH := len(r.Variants)*(barH+gap) + 14
	y0 := padT + legendH + 6
	H := y0 + len(ids)*groupH + 30
	plotW := chartW - labelW - padR - 90
	xOf := func(v float64) float64 { return float64(labelW) + v/top*float64(plotW) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="cost per pool">`, chartW, H)
	r.legend(&b, padT+12)
	for v := 0.0; v <= top*1.0001; v += step {
		x := xOf(v)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#eef0f4"/>`, x, x, y0-4, H-26)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x, H-10, shortAmount(v))
	}
	for k, id := range ids {
		gy := y0 + k*groupH
		label := id
		if len(label) > 36 {
			label = label[:35] + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" style="fill:#1d2330;font-weight:600">%s</text>`,
			labelW-10, gy+(len(r.Variants)*(barH+gap))/2+4, esc(label))
		for i := range r.Variants {
			y := gy + i*(barH+gap)
			a, ok := charged[i][id]
			if !ok {
				fmt.Fprintf(&b, `<text x="%d" y="%d" style="font-style:italic">not created</text>`, labelW+4, y+12)
				continue
			}
			w := xOf(f(a)) - float64(labelW)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" rx="2" fill="%s"><title>%s · %s: %s %s</title></rect>`,
				labelW, y, math.Max(w, 1), barH, colour(i), esc(r.Variants[i].Name), esc(id), group(a), esc(r.Variants[i].Currency))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, float64(labelW)+math.Max(w, 1)+6, y+12, group(a))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (r *Report) monthlySVG() string {
	if len(r.Variants) == 0 || len(r.Variants[0].Monthly) == 0 {
		return ""
	}
	months := r.Variants[0].Monthly
	maxV := 0.0
	for _, v := range r.Variants {
		for _, m := range v.Monthly {
			maxV = math.Max(maxV, f(m.Spend))
		}
	}
	top, step := niceMax(maxV)
	const h, legendH = 260, 28
	y0 := padT + legendH
	H := y0 + h + 34
	plotW := chartW - padL - padR
	slot := float64(plotW) / float64(len(months))
	nv := len(r.Variants)
	barW := math.Max(1, (slot-6)/float64(nv))
	yOf := func(v float64) float64 { return float64(y0+h) - v/top*float64(h) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %d %d" role="img" aria-label="spend per month">`, chartW, H)
	r.legend(&b, padT+12)
	yAxis(&b, top, step, y0, h)
	every := max(1, len(months)/24+1)
	for k, m := range months {
		x0 := float64(padL) + float64(k)*slot + 3
		for i, v := range r.Variants {
			if k >= len(v.Monthly) {
				continue
			}
			a := v.Monthly[k].Spend
			y := yOf(f(a))
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s · %s: %s %s</title></rect>`,
				x0+float64(i)*barW, y, math.Max(barW-1, 0.5), float64(y0+h)-y, colour(i), esc(v.Name), m.Month, group(a), esc(v.Currency))
		}
		if k%every == 0 {
			t, _ := time.Parse("2006-01", m.Month)
			label := t.Format("Jan")
			if t.Month() == time.January || k == 0 {
				label = t.Format("Jan 06")
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+slot/2-3, y0+h+18, label)
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#9aa3b2"/>`, padL, chartW-padR, y0+h, y0+h)
	b.WriteString(`</svg>`)
	return b.String()
}
