package statuspage_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

// public is the fixture with page "acme" and the public handler mounted.
type public struct {
	*fixture
	mux *http.ServeMux
}

func setupPublic(t testing.TB, d *db.DB) *public {
	t.Helper()
	f := setup(t, d)
	f.must(f.svc.CreatePage(f.olga, page("acme")))
	mux := http.NewServeMux()
	statuspage.NewHandler(f.svc, statuspage.HandlerOptions{}).Register(mux)
	return &public{fixture: f, mux: mux}
}

// get requests path anonymously with header pairs and returns the response
// and its body as sent.
func (p *public) get(path string, header ...string) (*http.Response, string) {
	p.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	p.mux.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.String()
}

// view returns the page's JSON view.
func (p *public) view() statuspage.View {
	p.t.Helper()
	resp, body := p.get("/status/acme/status.json")
	if resp.StatusCode != 200 {
		p.t.Fatalf("status.json = %d: %s", resp.StatusCode, body)
	}
	var v statuspage.View
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		p.t.Fatal(err)
	}
	return v
}

func TestPublicPage_ComponentStatusFromChecks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		steps := []struct {
			name     string
			set      func()
			api, dbs statuspage.Status
			overall  string
		}{
			{"nothing confirmed yet", func() {}, statuspage.NoData, statuspage.NoData, "Status not known yet"},
			{"all up", func() {
				p.setState("api-http", check.Up, "")
				p.setState("api-latency", check.Up, "")
				p.setState("db-port", check.Up, "")
			}, statuspage.Operational, statuspage.Operational, "All systems operational"},
			{"a check the component does not name is down", func() {
				p.setState("db-backup", check.Down, "no ping")
			}, statuspage.Operational, statuspage.Operational, "All systems operational"},
			{"one of two down", func() {
				p.setState("api-http", check.Down, "dial tcp 10.9.8.7:8443: connect: connection refused")
			}, statuspage.PartialOutage, statuspage.Operational, "Partial outage"},
			{"blocked counts as down, paused is ignored", func() {
				p.setState("api-http", check.Blocked, "blocked by parent")
				_, err := p.db.Writer().Exec(`UPDATE checks SET paused = TRUE WHERE name = 'api-latency'`)
				p.noErr(err)
			}, statuspage.MajorOutage, statuspage.Operational, "Partial outage"},
			{"degraded", func() {
				p.setState("api-http", check.Degraded, "slow")
				_, err := p.db.Writer().Exec(`UPDATE checks SET paused = FALSE WHERE name = 'api-latency'`)
				p.noErr(err)
			}, statuspage.Degraded, statuspage.Operational, "Some systems degraded"},
			{"everything down", func() {
				p.setState("api-http", check.Down, "")
				p.setState("api-latency", check.Down, "")
				p.setState("db-port", check.Down, "")
			}, statuspage.MajorOutage, statuspage.MajorOutage, "Major outage"},
		}
		for _, s := range steps {
			s.set()
			p.clk.Advance(statuspage.DefaultCacheTTL) // let the cached page expire
			v := p.view()
			if v.Components[0].Status != s.api || v.Components[1].Status != s.dbs || v.Status.Headline() != s.overall {
				t.Errorf("%s: api %s, database %s, banner %q; want %s, %s, %q", s.name,
					v.Components[0].Status, v.Components[1].Status, v.Status.Headline(), s.api, s.dbs, s.overall)
			}
			_, html := p.get("/status/acme")
			for _, want := range []string{s.overall, s.api.Word(), s.dbs.Word()} {
				if !strings.Contains(html, want) {
					t.Errorf("%s: the page does not say %q", s.name, want)
				}
			}
		}
	})
}

func TestPublicPage_ShowsNothingInternal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		p.setState("api-http", check.Down, "dial tcp 10.9.8.7:8443: connect: connection refused")
		p.setState("db-port", check.Up, "")
		p.addRuns("api-http", start, 10, 5, 0)
		p.must(p.svc.CreateNotice(p.olga, "acme", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "API errors",
			Components: []string{"api"}, Message: "Requests fail; we are on it.", Ref: "INC-4242"}))
		for _, path := range []string{"/status/acme", "/status/acme/status.json"} {
			resp, body := p.get(path)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s = %d", path, resp.StatusCode)
			}
			for _, secret := range []string{"10.9.8.7", "secret-health", "connection refused", "api-http", "api-latency", "db-port",
				"db-backup", "INC-4242", "olga", "payments", "platform"} {
				if strings.Contains(body, secret) {
					t.Errorf("GET %s shows %q", path, secret)
				}
			}
			for _, shown := range []string{"Public API", "Database", "API errors", "Requests fail; we are on it."} {
				if !strings.Contains(body, shown) {
					t.Errorf("GET %s does not show %q", path, shown)
				}
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=10" {
				t.Errorf("GET %s Cache-Control %q", path, cc)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("GET %s Content-Security-Policy %q", path, csp)
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("GET %s sets a cookie", path)
			}
		}
	})
}

func TestPublicPage_ETagAndGzip(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		resp, html := p.get("/status/acme", "Accept-Encoding", "identity")
		etag := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || etag == "" || resp.Header.Get("Content-Encoding") != "" || !strings.Contains(html, "<h1>Acme status</h1>") {
			t.Fatalf("GET = %d, ETag %q, encoding %q:\n%s", resp.StatusCode, etag, resp.Header.Get("Content-Encoding"), html)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		resp, body := p.get("/status/acme", "If-None-Match", etag, "Accept-Encoding", "identity")
		if resp.StatusCode != http.StatusNotModified || body != "" || resp.Header.Get("ETag") != etag {
			t.Errorf("If-None-Match = %d with %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
		}
		resp, body = p.get("/status/acme", "If-None-Match", `"other", W/`+etag)
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match with a list holding the weak ETag = %d", resp.StatusCode)
		}
		resp, body = p.get("/status/acme", "Accept-Encoding", "gzip, deflate, br")
		gzTag := resp.Header.Get("ETag")
		if resp.Header.Get("Content-Encoding") != "gzip" || gzTag == etag || !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Fatalf("gzip: encoding %q, ETag %q (plain %q), Vary %q", resp.Header.Get("Content-Encoding"), gzTag, etag, resp.Header.Get("Vary"))
		}
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != html || len(body) >= len(html) {
			t.Errorf("gzip body (%d bytes) does not decompress to the page (%d bytes)", len(body), len(html))
		}
		if resp, _ := p.get("/status/acme", "If-None-Match", gzTag, "Accept-Encoding", "gzip"); resp.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match gzip ETag = %d", resp.StatusCode)
		}
		// A change shows once the cache expires, under a new ETag.
		p.setState("api-http", check.Up, "")
		p.clk.Advance(statuspage.DefaultCacheTTL)
		if resp, _ := p.get("/status/acme", "If-None-Match", etag, "Accept-Encoding", "identity"); resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
			t.Errorf("after a change: %d, ETag %q (was %q)", resp.StatusCode, resp.Header.Get("ETag"), etag)
		}
	})
}

func TestPublicPage_CachedForTTL(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		p.setState("api-http", check.Up, "")
		if v := p.view(); v.Components[0].Status != statuspage.Operational {
			t.Fatalf("api = %s", v.Components[0].Status)
		}
		p.setState("api-http", check.Down, "")
		p.clk.Advance(statuspage.DefaultCacheTTL - time.Second)
		if v := p.view(); v.Components[0].Status != statuspage.Operational {
			t.Errorf("within the cache time api = %s, want the cached operational", v.Components[0].Status)
		}
		p.clk.Advance(time.Second)
		if v := p.view(); v.Components[0].Status != statuspage.MajorOutage {
			t.Errorf("after the cache time api = %s, want major_outage", v.Components[0].Status)
		}
		// A notice posted through the service shows at once.
		p.must(p.svc.CreateNotice(p.olga, "acme", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "API down", Message: "On it."}))
		if v := p.view(); len(v.Active) != 1 || v.Active[0].Title != "API down" {
			t.Errorf("right after posting, active notices = %+v", v.Active)
		}
		// So does a deleted page.
		p.noErr(p.svc.DeletePage(p.olga, "acme", 0))
		if resp, _ := p.get("/status/acme"); resp.StatusCode != 404 {
			t.Errorf("deleted page = %d", resp.StatusCode)
		}
	})
}

func TestPublicPage_HistoryAndNotices(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		day := func(n int) time.Time { return start.AddDate(0, 0, -n) }
		p.addRuns("api-http", day(0), 100, 0, 0)
		p.addRuns("api-http", day(1), 100, 50, 0)  // 50 %…
		p.addRuns("api-latency", day(1), 10, 0, 0) // …and 100 %: the day is 75 %
		p.addRuns("api-http", day(2), 100, 0, 3)   // slow runs: minor
		p.addRuns("api-http", day(3), 1000, 1, 0)  // 99.9 %: minor
		p.addRuns("api-http", day(89), 10, 0, 0)   // the first day shown
		p.addRuns("api-http", day(90), 10, 10, 0)  // too old
		p.addRuns("db-backup", day(0), 10, 10, 0)  // not on the page
		p.addRuns("db-port", day(0), 10, 0, 0)

		// Notices: an open incident, maintenance in progress, upcoming and
		// past ones, and one closed long ago.
		inc := p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Incident, Title: "Slow API", Components: []string{"api"}, Message: "Investigating."})
		p.must(p.svc.PostUpdate(p.olga, "acme", inc.Number, statuspage.UpdateInput{Status: statuspage.Monitoring, Message: "A fix is out."}))
		p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "DB upgrade", Components: []string{"database"},
			StartsAt: ptr(start.Add(-time.Hour)), EndsAt: ptr(start.Add(time.Hour)), Message: "Upgrading."})
		p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "Network work", StartsAt: ptr(start.Add(48 * time.Hour)),
			EndsAt: ptr(start.Add(50 * time.Hour)), Message: "Planned."})
		p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "Ended window", StartsAt: ptr(start.Add(-5 * time.Hour)),
			EndsAt: ptr(start.Add(-4 * time.Hour)), Message: "Was planned."})
		old := p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Incident, Title: "Old outage", StartsAt: ptr(start.AddDate(0, 0, -100)), Message: "Down."})
		p.mustNotice(statuspage.NoticeInput{Kind: statuspage.Incident, Title: "Fixed today", Message: "Broke."})
		p.must(p.svc.Resolve(p.olga, "acme", 6, "Fixed."))
		p.clk.Advance(-100 * 24 * time.Hour) // resolve the old one 100 days ago
		p.must(p.svc.Resolve(p.olga, "acme", old.Number, ""))
		p.clk.Advance(100*24*time.Hour + statuspage.DefaultCacheTTL)

		v := p.view()
		api := v.Components[0]
		if len(api.Days) != statuspage.HistoryDays || api.Days[89].Date != "2026-11-27" || api.Days[0].Date != "2026-08-30" {
			t.Fatalf("days: %d, first %s, last %s", len(api.Days), api.Days[0].Date, api.Days[len(api.Days)-1].Date)
		}
		for _, tc := range []struct {
			ago     int
			percent float64
			level   statuspage.DayLevel
		}{{0, 100, statuspage.DayUp}, {1, 75, statuspage.DayMajor}, {2, 100, statuspage.DayMinor}, {3, 99.9, statuspage.DayMinor}, {89, 100, statuspage.DayUp}} {
			d := api.Days[89-tc.ago]
			if d.Percent == nil || math.Abs(*d.Percent-tc.percent) > 1e-9 || d.Level != tc.level {
				t.Errorf("%d days ago: %v %s, want %v %s", tc.ago, deref(d.Percent), d.Level, tc.percent, tc.level)
			}
		}
		if d := api.Days[50]; d.Percent != nil || d.Level != statuspage.DayNone {
			t.Errorf("a day without runs: %+v", d)
		}
		if want := (100 + 75 + 100 + 99.9 + 100) / 5; api.Uptime == nil || math.Abs(*api.Uptime-want) > 1e-9 {
			t.Errorf("api uptime %v, want %v", deref(api.Uptime), want)
		}
		if dbs := v.Components[1]; dbs.Status != statuspage.UnderMaintenance || *dbs.Days[89].Percent != 100 {
			t.Errorf("database: %s, today %v (db-backup must not count)", dbs.Status, deref(dbs.Days[89].Percent))
		}
		titles := func(ns []statuspage.NoticeView) string {
			var out []string
			for _, n := range ns {
				out = append(out, n.Title+":"+string(n.Status))
			}
			return strings.Join(out, ", ")
		}
		for _, tc := range []struct{ name, got, want string }{
			{"active", titles(v.Active), "Slow API:monitoring, DB upgrade:in_progress"},
			{"upcoming", titles(v.Upcoming), "Network work:scheduled"},
			{"past", titles(v.Past), "Fixed today:resolved, Ended window:completed"},
		} {
			if tc.got != tc.want {
				t.Errorf("%s notices: %s, want %s", tc.name, tc.got, tc.want)
			}
		}
		if a := v.Active[0]; len(a.Updates) != 2 || a.Updates[0].Message != "A fix is out." || strings.Join(a.Components, ",") != "Public API" {
			t.Errorf("incident as shown: %+v", a)
		}
		_, html := p.get("/status/acme")
		for _, want := range []string{"Current notices", "Scheduled maintenance", "Past notices", "Under maintenance", "A fix is out.",
			`aria-label="Public API: 94.98% uptime over the last 90 days"`, "Nov 26, 2026: 75% up (outage)"} {
			if !strings.Contains(html, want) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})
}

func (p *public) mustNotice(in statuspage.NoticeInput) statuspage.Notice {
	p.t.Helper()
	n, err := p.svc.CreateNotice(p.olga, "acme", in)
	p.noErr(err)
	return n
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestPublicPage_NotFound(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		for _, path := range []string{"/status/nope", "/status/Acme", "/status/acme-", "/status/nope/status.json", "/status/%2e%2e"} {
			resp, body := p.get(path)
			if resp.StatusCode != 404 {
				t.Errorf("GET %s = %d", path, resp.StatusCode)
			}
			if strings.Contains(body, "acme") && !strings.HasSuffix(path, "Acme") {
				t.Errorf("GET %s mentions another page: %s", path, body)
			}
		}
		resp, css := p.get("/status/-/style.css?v=1")
		if resp.StatusCode != 200 || !strings.Contains(css, "prefers-color-scheme: dark") || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("stylesheet = %d, %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	})
}

func TestBadges(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		p := setupPublic(t, d)
		p.setState("api-http", check.Down, "dial tcp 10.9.8.7:8443: refused")
		p.setState("db-port", check.Blocked, "parent down")
		p.setState("db-backup", check.Up, "")
		p.addRuns("api-http", start.Add(-2*time.Hour), 1000, 5, 0)
		p.addRuns("api-http", start.AddDate(0, 0, -20), 100, 100, 0)
		for _, tc := range []struct {
			path, text string
		}{
			{"/badge/check/api-http/status.svg", "status: down"},
			{"/badge/check/api-latency/status.svg", "status: unknown"},
			{"/badge/check/db-port/status.svg", "status: down"},
			{"/badge/check/api-http/status.svg?label=API", "API: down"},
			{"/badge/check/api-http/uptime.svg?window=24h", "uptime 24h: 99.5%"},
			{"/badge/check/api-http/uptime.svg", "uptime 30d: 90.45%"},
			{"/badge/check/api-latency/uptime.svg?window=7d", "uptime 7d: no data"},
			{"/badge/check/api-http/uptime.svg?label=%3Cb%3E%26", "<b>&: 90.45%"},
		} {
			resp, body := p.get(tc.path)
			if resp.StatusCode != 200 {
				t.Errorf("GET %s = %d: %s", tc.path, resp.StatusCode, body)
				continue
			}
			var svg struct {
				XMLName xml.Name
				Title   string `xml:"title"`
			}
			if err := xml.Unmarshal([]byte(body), &svg); err != nil || svg.XMLName.Local != "svg" {
				t.Errorf("GET %s is not SVG (%v):\n%s", tc.path, err, body)
			}
			if svg.Title != tc.text {
				t.Errorf("GET %s says %q, want %q", tc.path, svg.Title, tc.text)
			}
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "image/svg+xml; charset=utf-8" || cc != "public, max-age=60" {
				t.Errorf("GET %s: Content-Type %q, Cache-Control %q", tc.path, ct, cc)
			}
			if r, _ := p.get(tc.path, "If-None-Match", resp.Header.Get("ETag")); r.StatusCode != http.StatusNotModified {
				t.Errorf("GET %s with its ETag = %d", tc.path, r.StatusCode)
			}
		}
		for _, tc := range []struct {
			path string
			code int
		}{
			{"/badge/check/db-backup/status.svg", 404}, // on no page: its component names only db-port
			{"/badge/check/db-backup/uptime.svg", 404},
			{"/badge/check/nope/status.svg", 404},
			{"/badge/check/API-HTTP/status.svg", 404},
			{"/badge/check/api-http/other.svg", 404},
			{"/badge/check/api-http/uptime.svg?window=1y", 400},
			{"/badge/check/api-http/uptime.svg?window=91d", 400},
			{"/badge/check/api-http/status.svg?label=" + strings.Repeat("x", 41), 400},
		} {
			if resp, body := p.get(tc.path); resp.StatusCode != tc.code || strings.Contains(body, "10.9.8.7") {
				t.Errorf("GET %s = %d, want %d: %s", tc.path, resp.StatusCode, tc.code, body)
			}
		}
		// Once a page shows the service whole, its every check has badges.
		in := page("acme")
		in.Components[1].Checks = nil
		p.must(p.svc.UpdatePage(p.olga, "acme", in, 0))
		if resp, _ := p.get("/badge/check/db-backup/status.svg"); resp.StatusCode != 200 {
			t.Errorf("badge of a check of a service shown whole = %d", resp.StatusCode)
		}
	})
}

// FuzzPublicRoutes requests arbitrary paths and queries under the public
// routes: the answer is never a server error, and a badge is always SVG.
func FuzzPublicRoutes(f *testing.F) {
	d := dbtest.Open(f, dbtest.SQLiteDSN(f))
	p := setupPublic(f, d)
	p.setState("api-http", check.Up, "")
	for _, s := range []string{"/status/acme", "/status/acme/status.json", "/status/-/style.css", "/badge/check/api-http/status.svg",
		"/badge/check/api-http/uptime.svg?window=7d&label=x", "/status/../acme", "/status/acme%00", "/badge/check/%ff/status.svg",
		"/status/" + strings.Repeat("a", 70), "/badge/check/api-http/uptime.svg?window=0d", "/badge/check/api-http/uptime.svg?window=-1h",
		"/badge/check/api-http/status.svg?label=%e2%80%ae", "/status/acme?x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/status/") && !strings.HasPrefix(target, "/badge/") {
			target = "/status/" + target
		}
		req, err := http.NewRequest(http.MethodGet, "http://status.test"+target, nil)
		if err != nil {
			t.Skip()
		}
		rec := httptest.NewRecorder()
		p.mux.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 304, 307, 308, 400, 404, 405:
		default:
			t.Fatalf("GET %q = %d: %s", target, rec.Code, rec.Body)
		}
		if rec.Code == 200 && strings.HasSuffix(req.URL.Path, ".svg") {
			if err := xml.Unmarshal(rec.Body.Bytes(), new(struct{})); err != nil || !bytes.HasPrefix(rec.Body.Bytes(), []byte("<svg")) {
				t.Fatalf("GET %q: not SVG (%v): %s", target, err, rec.Body)
			}
		}
	})
}
