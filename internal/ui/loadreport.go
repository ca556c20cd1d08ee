package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	paging "groundcrew.dev/groundcrew/internal/oncall/pager"
)

type loadData struct {
	Tabs                          []alertTab
	Days                          int
	Team, TimeZone, BusinessHours string
	R                             paging.Report
	Policies                      []policyLoadRow
	Chart                         template.HTML
	CSVPeople, CSVPolicies        string
}

// showLoad shows the on-call load: pages per person (out of hours
// apart), messages, acknowledgements, and per policy MTTA and MTTR.
func (u *UI) showLoad(w http.ResponseWriter, r *http.Request) error {
	if err := u.requirePager(); err != nil {
		return err
	}
	q := r.URL.Query()
	d := loadData{Tabs: onCallTabs("/oncall/load"), Days: 30, Team: strings.TrimSpace(q.Get("team")),
		TimeZone: strings.TrimSpace(q.Get("time_zone")), BusinessHours: strings.TrimSpace(q.Get("business_hours"))}
	if s := q.Get("days"); s != "" {
		if _, err := fmt.Sscanf(s, "%d", &d.Days); err != nil || d.Days < 1 || d.Days > 366 {
			return errs.Invalidf("days", "must be 1 to 366")
		}
	}
	to := u.clock.Now().Add(time.Second) // up to and including now
	rep, err := u.cfg.Pager.Report(r.Context(), paging.ReportFilter{From: to.AddDate(0, 0, -d.Days), To: to, Team: d.Team,
		TimeZone: d.TimeZone, BusinessHours: d.BusinessHours})
	if err != nil {
		return err
	}
	d.R, d.Chart = rep, loadChartSVG(rep.People)
	for _, p := range rep.Policies {
		d.Policies = append(d.Policies, policyLoadRow{PolicyLoad: p, MTTA: spanPair(p.MTTAMean, p.MTTAMedian), MTTR: spanPair(p.MTTRMean, p.MTTRMedian)})
	}
	base := fmt.Sprintf("/api/v1/reports/oncall?format=csv&from=%s&to=%s&time_zone=%s&business_hours=%s&team=%s",
		rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339), rep.TimeZone, rep.BusinessHours, d.Team)
	d.CSVPeople, d.CSVPolicies = base+"&by=person", base+"&by=policy"
	u.render(w, r, http.StatusOK, "oncall_load", "On-call load", d)
	return nil
}

// policyLoadRow is a policy's load with its times in words.
type policyLoadRow struct {
	paging.PolicyLoad
	MTTA, MTTR string
}

// spanPair says "mean / median" of two durations in seconds, "—" when
// there are none.
func spanPair(mean, median *float64) string {
	if mean == nil || median == nil {
		return "—"
	}
	f := func(s float64) string { return time.Duration(s * float64(time.Second)).Round(time.Second).String() }
	return f(*mean) + " / " + f(*median)
}

const (
	hbarH      = 18
	hbarGap    = 6
	hbarLabelW = 150
	hbarMaxW   = 460
)

// bar is one row of a horizontal bar chart: its label, its stacked parts
// (drawn with classes part-0, part-1, …) and their total's words.
type bar struct {
	Label string
	Parts []int
	Tip   string
}

// barsSVG draws rows of stacked horizontal bars, scaled to the largest
// total, with the totals written after them; desc says it in words.
func barsSVG(id, title, desc string, bars []bar) template.HTML {
	if len(bars) == 0 {
		return ""
	}
	bars = bars[:min(len(bars), 30)]
	most := 1
	for _, b := range bars {
		t := 0
		for _, p := range b.Parts {
			t += p
		}
		most = max(most, t)
	}
	esc := template.HTMLEscapeString
	h := len(bars)*(hbarH+hbarGap) - hbarGap
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart bars" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t %s-d" xmlns="http://www.w3.org/2000/svg">`,
		hbarLabelW+hbarMaxW+60, h, esc(id), esc(id))
	fmt.Fprintf(&b, `<title id="%s-t">%s</title><desc id="%s-d">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	scale := float64(hbarMaxW) / float64(most)
	for i, r := range bars {
		y := i * (hbarH + hbarGap)
		fmt.Fprintf(&b, `<g><title>%s</title>`, esc(r.Tip))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, hbarLabelW-8, y+hbarH-5, esc(truncate(r.Label, 24)))
		x, total := float64(hbarLabelW), 0
		for j, p := range r.Parts {
			w := float64(p) * scale
			fmt.Fprintf(&b, `<rect class="part-%d" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, j, x, y, w, hbarH)
			x += w
			total += p
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%d</text></g>`, x+6, y+hbarH-5, total)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// loadChartSVG draws pages per person, the part out of business hours
// apart.
func loadChartSVG(people []paging.PersonLoad) template.HTML {
	var bars []bar
	var words []string
	for _, p := range people {
		bars = append(bars, bar{Label: p.User, Parts: []int{p.Pages - p.OutOfHours, p.OutOfHours},
			Tip: fmt.Sprintf("%s: %d pages, %d out of hours", p.User, p.Pages, p.OutOfHours)})
		words = append(words, fmt.Sprintf("%s %d (%d out of hours)", p.User, p.Pages, p.OutOfHours))
	}
	return barsSVG("load", "Pages per person", strings.Join(words, "; "), bars)
}
