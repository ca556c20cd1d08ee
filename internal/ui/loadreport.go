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
	loadBarH   = 18
	loadGap    = 6
	loadLabelW = 140
	loadBarW   = 460
)

// loadChartSVG draws pages per person as horizontal bars, the part out of
// business hours apart.
func loadChartSVG(people []paging.PersonLoad) template.HTML {
	if len(people) == 0 {
		return ""
	}
	people = people[:min(len(people), 30)]
	most := 1
	for _, p := range people {
		most = max(most, p.Pages)
	}
	esc := template.HTMLEscapeString
	h := len(people)*(loadBarH+loadGap) - loadGap
	var b strings.Builder
	var words []string
	for _, p := range people {
		words = append(words, fmt.Sprintf("%s %d (%d out of hours)", p.User, p.Pages, p.OutOfHours))
	}
	fmt.Fprintf(&b, `<svg class="chart load-bars" viewBox="0 0 %d %d" role="img" aria-labelledby="load-t load-d" xmlns="http://www.w3.org/2000/svg">`,
		loadLabelW+loadBarW+60, h)
	fmt.Fprintf(&b, `<title id="load-t">Pages per person</title><desc id="load-d">%s</desc>`, esc(strings.Join(words, "; ")))
	scale := float64(loadBarW) / float64(most)
	for i, p := range people {
		y := i * (loadBarH + loadGap)
		in := float64(p.Pages-p.OutOfHours) * scale
		out := float64(p.OutOfHours) * scale
		fmt.Fprintf(&b, `<g><title>%s: %d pages, %d out of hours</title>`, esc(p.User), p.Pages, p.OutOfHours)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, loadLabelW-8, y+loadBarH-5, esc(p.User))
		fmt.Fprintf(&b, `<rect class="in-hours" x="%d" y="%d" width="%.1f" height="%d" rx="2"/>`, loadLabelW, y, in, loadBarH)
		fmt.Fprintf(&b, `<rect class="out-of-hours" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, float64(loadLabelW)+in, y, out, loadBarH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%d</text></g>`, float64(loadLabelW)+in+out+6, y+loadBarH-5, p.Pages)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
