package ui

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/incident"
)

type incidentReportData struct {
	Days          int
	Service, Team string
	R             incident.Report
	Chart         template.HTML
	CSV           string
}

// showIncidentReport shows the incident figures of a window: counts,
// MTTA and MTTR per severity, service and team, incidents per service as
// a chart, and the CSV.
func (u *UI) showIncidentReport(w http.ResponseWriter, r *http.Request) error {
	if err := u.requireIncidents(); err != nil {
		return err
	}
	q := r.URL.Query()
	d := incidentReportData{Days: 90, Service: strings.TrimSpace(q.Get("service")), Team: strings.TrimSpace(q.Get("team"))}
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 366 {
			return errs.Invalidf("days", "must be 1 to 366")
		}
		d.Days = n
	}
	to := u.clock.Now().Add(time.Second)
	rep, _, err := u.cfg.Incidents.Report(r.Context(), incident.ReportFilter{From: to.AddDate(0, 0, -d.Days), To: to, Service: d.Service, Team: d.Team})
	if err != nil {
		return err
	}
	d.R = rep
	var bars []bar
	var words []string
	for _, g := range rep.Services {
		bars = append(bars, bar{Label: g.Key, Parts: []int{g.Resolved, g.Incidents - g.Resolved},
			Tip: fmt.Sprintf("%s: %d incidents, %d resolved", g.Key, g.Incidents, g.Resolved)})
		words = append(words, fmt.Sprintf("%s %d", g.Key, g.Incidents))
	}
	d.Chart = barsSVG("inc-services", "Incidents per service", strings.Join(words, "; "), bars)
	v := url.Values{"format": {"csv"}, "from": {rep.From.Format(time.RFC3339)}, "to": {rep.To.Format(time.RFC3339)}}
	if d.Service != "" {
		v.Set("service", d.Service)
	}
	if d.Team != "" {
		v.Set("team", d.Team)
	}
	d.CSV = "/api/v1/reports/incidents?" + v.Encode()
	u.render(w, r, http.StatusOK, "incidents_report", "Incident report", d)
	return nil
}
