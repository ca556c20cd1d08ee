package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/secret"
	"groundcrew.dev/groundcrew/internal/server"
)

// mailbox is a real SMTP server (emersion/go-smtp) on loopback that keeps
// the recipients and bodies of what it receives.
type mailbox struct {
	addr *net.TCPAddr
	mu   sync.Mutex
	msgs []mailMessage
}

type mailMessage struct {
	to   []string
	data string
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	m := &mailbox{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return &mailSession{box: m}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 5*time.Second, 5*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	m.addr = l.Addr().(*net.TCPAddr)
	return m
}

func (m *mailbox) to(addr string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, msg := range m.msgs {
		for _, r := range msg.to {
			if r == addr {
				out = append(out, msg.data)
			}
		}
	}
	return out
}

type mailSession struct {
	box *mailbox
	to  []string
}

func (s *mailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, mailMessage{to: s.to, data: string(b)})
	s.box.mu.Unlock()
	return nil
}
func (s *mailSession) Reset()        { s.to = nil }
func (s *mailSession) Logout() error { return nil }

// startServerConfig starts a server with cfg (Listen, Database and DataDir
// set by the caller) on the clock clk.
func startServerConfig(t *testing.T, cfg config.Config, clk clock.Clock) *server.Server {
	t.Helper()
	cfg.LogFormat, cfg.LogLevel = "text", "error"
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://127.0.0.1:0"
	}
	srv := server.New(cfg, server.Options{Clock: clk, Out: io.Discard, LeaseTTL: testLeaseTTL, Getenv: func(k string) string {
		switch k {
		case "GROUNDCREW_ADMIN_PASSWORD":
			return adminPassword
		case secret.KeyEnv: // replicas share the key
			return testSecretKey
		}
		return ""
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// pagingFixture is a team with two people, each reachable on loopback,
// an escalation policy paging one then the other, and a route sending the
// team's alerts to it.
type pagingFixture struct {
	t        *testing.T
	clk      *clock.Fake
	mail     *mailbox
	ana, ben *hookServer
	key      string
}

func newPagingFixture(t *testing.T) *pagingFixture {
	return &pagingFixture{t: t, clk: clock.NewFake(time.Now().UTC().Truncate(time.Second)), mail: startMailbox(t),
		ana: newHookServer(t, 200), ben: newHookServer(t, 200)}
}

func (f *pagingFixture) config(dir, dsn string) config.Config {
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "groundcrew.db")
	}
	return config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: dsn, PagingMailer: "pager-mail"}
}

func (f *pagingFixture) setUp(base string) {
	admin := login(f.t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments"}, nil)
	for _, u := range []string{"ana", "ben"} {
		admin.must(201, "POST", "/api/v1/users", map[string]any{"name": u, "role": "member", "password": "password-" + u}, nil)
	}
	admin.must(201, "POST", "/api/v1/users/ana/contact-methods", map[string]any{"name": "hook", "type": "webhook", "address": f.ana.URL + "/page"}, nil)
	admin.must(201, "POST", "/api/v1/users/ana/contact-methods", map[string]any{"name": "mail", "type": "email", "address": "ana@example.com"}, nil)
	admin.must(201, "POST", "/api/v1/users/ben/contact-methods", map[string]any{"name": "slack", "type": "slack", "address": f.ben.URL + "/services/T0/B0/BEN"}, nil)
	admin.must(201, "POST", "/api/v1/receivers", map[string]any{"name": "pager-mail", "channels": []any{map[string]any{"email": map[string]any{
		"from": "groundcrew <pager@example.com>", "to": []string{"nobody@example.com"},
		"smtp": map[string]any{"host": "127.0.0.1", "port": f.mail.addr.Port, "tls": "none"}}}}}, nil)
	admin.must(201, "POST", "/api/v1/escalation-policies", map[string]any{"name": "payments-oncall", "spec": map[string]any{"owner": "payments", "steps": []any{
		map[string]any{"delay": "5m", "targets": []any{map[string]any{"user": "ana"}}},
		map[string]any{"delay": "5m", "targets": []any{map[string]any{"user": "ben"}}}}}}, nil)
	admin.must(201, "POST", "/api/v1/alert-routes", map[string]any{"name": "payments", "spec": map[string]any{
		"matchers": []string{`service="payments"`}, "group_by": []string{"alertname"}, "group_wait": "1s",
		"team": "payments", "escalation_policy": "payments-oncall"}}, nil)
	var integ struct{ Key string }
	admin.must(201, "POST", "/api/v1/integrations", map[string]any{"name": "prom", "type": "alertmanager"}, &integ)
	f.key = integ.Key
}

func (f *pagingFixture) fire(base, alertname string) {
	f.t.Helper()
	now := f.clk.Now()
	body := fmt.Sprintf(`[{"labels":{"alertname":%q,"service":"payments","severity":"critical"},"annotations":{"summary":"%s on payments"},"startsAt":%q,"endsAt":%q}]`,
		alertname, alertname, now.Add(-time.Minute).Format(time.RFC3339Nano), now.Add(3*time.Hour).Format(time.RFC3339Nano))
	if code, _, data := ingest(f.t, base, "/api/v2/alerts", f.key, false, body); code != 200 {
		f.t.Fatalf("POST /api/v2/alerts = %d %s", code, data)
	}
}

// tickUntil moves the clock a second at a time (group waits and the
// pager's bundling run on it) until cond holds.
func (f *pagingFixture) tickUntil(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		f.clk.Advance(time.Second)
		time.Sleep(100 * time.Millisecond)
	}
}

// quiet moves the clock by d in one-minute steps, letting the server act
// on each, for tests that something does not happen.
func (f *pagingFixture) quiet(d time.Duration) {
	for range int(d / time.Minute) {
		f.clk.Advance(time.Minute)
		time.Sleep(150 * time.Millisecond)
	}
}

type pageView struct {
	ID     string
	Status string
	Step   int
	Events []struct {
		Kind   string
		Actor  string
		Detail map[string]any
	}
	Sends []struct {
		User, Method, Status string
		Step                 int
	}
}

func (f *pagingFixture) pages(c *client, status string) []pageView {
	var out struct{ Items []pageView }
	c.must(200, "GET", "/api/v1/pages?status="+status, nil, &out)
	return out.Items
}

// pageLinks returns the links of the first alert of a webhook message.
func pageLinks(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m struct {
		Alerts []struct {
			Labels map[string]string
			Links  map[string]any
		}
	}
	if err := json.Unmarshal(body, &m); err != nil || len(m.Alerts) == 0 {
		t.Fatalf("webhook message = %s (%v)", body, err)
	}
	if m.Alerts[0].Labels["page"] == "" {
		t.Fatalf("message alert labels = %v, want a page label", m.Alerts[0].Labels)
	}
	return m.Alerts[0].Links
}

// TestPaging_EscalatesUntilAcknowledged: an alert routed to a policy
// pages step 1 (ana, by webhook and by e-mail through a real SMTP server),
// nobody answers, step 2 (ben, Slack format) goes out after the delay, an
// acknowledgement stops escalation, and the signed link in the message
// resolves the page.
func TestPaging_EscalatesUntilAcknowledged(t *testing.T) {
	f := newPagingFixture(t)
	srv := startServerConfig(t, f.config(t.TempDir(), ""), f.clk)
	base := srv.URL()
	f.setUp(base)
	admin := login(t, base, "admin", adminPassword, "write")

	f.fire(base, "PaymentsDown")
	f.tickUntil("ana's page by webhook and e-mail", func() bool { return f.ana.count() == 1 && len(f.mail.to("ana@example.com")) == 1 })
	if f.ben.count() != 0 {
		t.Fatalf("ben paged at step 1")
	}
	mail := f.mail.to("ana@example.com")[0]
	if !strings.Contains(mail, "PaymentsDown on payments") || !strings.Contains(mail, "/p/ack/") {
		t.Errorf("page e-mail lacks the summary or the acknowledge link:\n%s", mail)
	}
	open := f.pages(admin, "open")
	if len(open) != 1 || open[0].Status != "triggered" || open[0].Step != 0 {
		t.Fatalf("open pages = %+v", open)
	}
	id := open[0].ID

	f.clk.Advance(5 * time.Minute)
	f.tickUntil("ben's page at step 2", func() bool { return f.ben.count() == 1 })
	f.ben.mu.Lock()
	slackBody, slackPath := string(f.ben.bodies[0]), f.ben.reqs[0].URL.Path
	f.ben.mu.Unlock()
	if slackPath != "/services/T0/B0/BEN" || !strings.Contains(slackBody, "PaymentsDown on payments") {
		t.Errorf("slack page %s = %s", slackPath, slackBody)
	}

	// ben acknowledges: nothing more is sent, however long we wait.
	ben := login(t, base, "ben", "password-ben", "write")
	var acked pageView
	ben.must(200, "POST", "/api/v1/pages/"+id+"/acknowledge", nil, &acked)
	if acked.Status != "acknowledged" {
		t.Fatalf("acknowledged page = %+v", acked)
	}
	f.quiet(12 * time.Minute)
	if f.ana.count() != 1 || f.ben.count() != 1 || len(f.mail.to("ana@example.com")) != 1 {
		t.Fatalf("after the acknowledgement: ana %d webhook %d mail, ben %d", f.ana.count(), len(f.mail.to("ana@example.com")), f.ben.count())
	}

	// The signed resolve link in ana's message asks, then resolves.
	f.ana.mu.Lock()
	links := pageLinks(t, f.ana.bodies[0])
	f.ana.mu.Unlock()
	resolve, _ := links["resolve"].(string)
	if !strings.Contains(resolve, "/p/resolve/"+id) {
		t.Fatalf("resolve link = %q", resolve)
	}
	resp, err := http.Get(resolve)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "Resolve this page?") {
		t.Fatalf("GET resolve link = %d %s", resp.StatusCode, b)
	}
	u, _ := url.Parse(resolve)
	if resp, err = http.PostForm(u.Scheme+"://"+u.Host+"/p/resolve/"+id+"x", url.Values{"exp": {u.Query().Get("exp")}, "sig": {u.Query().Get("sig")}}); err != nil || resp.StatusCode != 403 {
		t.Fatalf("altered link = %v %v, want 403", resp.StatusCode, err)
	}
	resp, err = http.PostForm(u.Scheme+"://"+u.Host+u.Path, url.Values{"exp": {u.Query().Get("exp")}, "sig": {u.Query().Get("sig")}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST resolve link = %v %v", resp, err)
	}
	resp.Body.Close()

	var pg pageView
	admin.must(200, "GET", "/api/v1/pages/"+id, nil, &pg)
	if pg.Status != "resolved" {
		t.Fatalf("page after the link = %s", pg.Status)
	}
	var kinds []string
	for _, e := range pg.Events {
		kinds = append(kinds, e.Kind)
	}
	want := "opened notified message message notified message acknowledged resolved"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("page history = %s\nwant            %s", got, want)
	}
	if len(pg.Sends) != 3 {
		t.Errorf("sends = %+v, want ana×2 then ben", pg.Sends)
	}
	// The alert's own history says it paged.
	alerts := admin.alerts("?status=firing")
	if len(alerts) != 1 {
		t.Fatalf("alerts = %+v", alerts)
	}
	var detail struct{ History []struct{ Kind string } }
	admin.must(200, "GET", "/api/v1/alerts/"+alerts[0].ID, nil, &detail)
	paged := false
	for _, e := range detail.History {
		paged = paged || e.Kind == "paged"
		if e.Kind == "unrouted" {
			t.Errorf("a route that pages a policy recorded the alert as unrouted: %+v", detail.History)
		}
	}
	if !paged {
		t.Errorf("alert history = %+v, want a paged event", detail.History)
	}
}

// TestPaging_RestartMidEscalation stops the server after step 1 and
// starts another on the same database once step 2 is due: step 2 goes out
// once, step 1 is not repeated.
func TestPaging_RestartMidEscalation(t *testing.T) {
	f := newPagingFixture(t)
	dir := t.TempDir()
	first := startServerConfig(t, f.config(dir, ""), f.clk)
	f.setUp(first.URL())
	f.fire(first.URL(), "LedgerStuck")
	f.tickUntil("ana's page", func() bool { return f.ana.count() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(6 * time.Minute)
	second := startServerConfig(t, f.config(dir, ""), f.clk)
	f.tickUntil("ben's page after the restart", func() bool { return f.ben.count() == 1 })
	f.quiet(3 * time.Minute)
	if f.ana.count() != 1 || f.ben.count() != 1 {
		t.Fatalf("after the restart: ana %d, ben %d messages; want 1 and 1", f.ana.count(), f.ben.count())
	}
	admin := login(t, second.URL(), "admin", adminPassword, "write")
	if open := f.pages(admin, "open"); len(open) != 1 || open[0].Step != 1 {
		t.Fatalf("open pages = %+v", open)
	}
}

// TestPaging_TwoReplicas runs the escalation with two replicas on
// PostgreSQL: one message per step and person.
func TestPaging_TwoReplicas(t *testing.T) {
	if dbtest.PostgresURL(t) == "" {
		t.Skip("GROUNDCREW_TEST_POSTGRES not set")
	}
	dsn := dbtest.PostgresDSN(t)
	f := newPagingFixture(t)
	a := startServerConfig(t, f.config(t.TempDir(), dsn), f.clk)
	b := startServerConfig(t, f.config(t.TempDir(), dsn), f.clk)
	f.setUp(a.URL())
	f.fire(b.URL(), "PaymentsDown")
	f.tickUntil("ana's page", func() bool { return f.ana.count() == 1 && len(f.mail.to("ana@example.com")) == 1 })
	f.clk.Advance(5 * time.Minute)
	f.tickUntil("ben's page", func() bool { return f.ben.count() == 1 })
	f.quiet(3 * time.Minute)
	if f.ana.count() != 1 || f.ben.count() != 1 || len(f.mail.to("ana@example.com")) != 1 {
		t.Fatalf("two replicas: ana %d webhook %d mail, ben %d; want one each", f.ana.count(), len(f.mail.to("ana@example.com")), f.ben.count())
	}
}

// TestPaging_IncidentTimeline: with an incident open on the service, the
// alert that fires, the page it opens and the acknowledgement land on the
// incident's timeline, and the acknowledgement starts its MTTA.
func TestPaging_IncidentTimeline(t *testing.T) {
	f := newPagingFixture(t)
	srv := startServerConfig(t, f.config(t.TempDir(), ""), f.clk)
	base := srv.URL()
	f.setUp(base)
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "prod", "criticality": "high"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "payments", "owner": "payments", "tier": 1, "environments": []string{"prod"}}, nil)
	var inc struct{ Number int64 }
	admin.must(201, "POST", "/api/v1/incidents", map[string]any{"title": "Payments degraded", "severity": "SEV2", "services": []string{"payments"}}, &inc)
	n := fmt.Sprint(inc.Number)

	f.fire(base, "PaymentsDown")
	f.tickUntil("ana's page", func() bool { return f.ana.count() == 1 })
	open := f.pages(admin, "open")
	if len(open) != 1 {
		t.Fatalf("open pages = %+v", open)
	}
	ana := login(t, base, "ana", "password-ana", "write")
	ana.must(200, "POST", "/api/v1/pages/"+open[0].ID+"/acknowledge", nil, nil)

	// A check of the service going DOWN is on the timeline too (the
	// runner hands its state changes to the alert service in its flush).
	admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": "payments-cron", "service": "payments", "environment": "prod", "type": "heartbeat", "interval": "1h"}, nil)
	var checkID uuid.UUID
	if err := srv.DB.Reader().QueryRowContext(context.Background(), `SELECT id FROM checks WHERE name = 'payments-cron'`).Scan(&checkID); err != nil {
		t.Fatal(err)
	}
	err := srv.DB.InTx(context.Background(), func(tx *sql.Tx) error {
		return srv.Alerts.CheckChanged(context.Background(), tx, check.Event{ID: uuid.New(), Check: "payments-cron", CheckID: checkID, At: f.clk.Now(),
			From: check.Up, To: check.Down, Reason: "no ping for 2h", Alertable: true})
	})
	if err != nil {
		t.Fatal(err)
	}

	var timeline struct {
		Items []struct{ Kind, Text, Actor string }
	}
	admin.must(200, "GET", "/api/v1/incidents/"+n+"/timeline", nil, &timeline)
	var kinds []string
	for _, e := range timeline.Items {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []string{"alert_fired", "page_opened", "page_acknowledged", "check_state_changed"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("incident timeline %v lacks %s", kinds, want)
		}
	}
	var got struct {
		AcknowledgedAt *time.Time `json:"acknowledged_at"`
		AcknowledgedBy string     `json:"acknowledged_by"`
	}
	admin.must(200, "GET", "/api/v1/incidents/"+n, nil, &got)
	if got.AcknowledgedAt == nil || got.AcknowledgedBy != "ana" {
		t.Errorf("incident acknowledgement = %v by %q, want ana's", got.AcknowledgedAt, got.AcknowledgedBy)
	}
}

// TestPaging_KilledBeforeTheMessage kills the server with SIGKILL right
// after an alert opened a page, before its first message went out (the
// message waits two seconds for others to bundle with): after a restart
// the step is notified, once — by webhook and by e-mail through a real
// SMTP server.
func TestPaging_KilledBeforeTheMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	f := newPagingFixture(t)
	dir := t.TempDir()
	env := "GROUNDCREW_TEST_PAGING_MAILER=pager-mail"
	cmd, base := startChild(t, dir, env)
	f.setUp(base)
	admin := login(t, base, "admin", adminPassword, "write")
	f.fire(base, "PaymentsDown")
	waitFor(t, "the page to open", 20*time.Second, func() bool {
		var out struct{ Items []pageView }
		code, _, body := admin.doNoFatal("GET", "/api/v1/pages?status=open", nil)
		return code == 200 && json.Unmarshal(body, &out) == nil && len(out.Items) == 1
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if f.ana.count() != 0 {
		t.Skipf("the message went out before the kill (%d); nothing to recover", f.ana.count())
	}
	_, base = startChild(t, dir, env)
	waitFor(t, "ana's page after the restart", 30*time.Second, func() bool { return f.ana.count() == 1 && len(f.mail.to("ana@example.com")) == 1 })
	time.Sleep(3 * time.Second) // anything doubled would have arrived by now
	if f.ana.count() != 1 || len(f.mail.to("ana@example.com")) != 1 || f.ben.count() != 0 {
		t.Fatalf("after the crash: ana %d webhook %d mail, ben %d; want 1, 1, 0", f.ana.count(), len(f.mail.to("ana@example.com")), f.ben.count())
	}
	admin = login(t, base, "admin", adminPassword, "write")
	if open := f.pages(admin, "open"); len(open) != 1 || open[0].Step != 0 {
		t.Fatalf("open pages after the crash = %+v", open)
	}
}

// TestSwapNotices: the person asked to cover a shift hears of it through
// their contact methods, and the requester hears of the answer.
func TestSwapNotices(t *testing.T) {
	f := newPagingFixture(t)
	srv := startServerConfig(t, f.config(t.TempDir(), ""), f.clk)
	base := srv.URL()
	f.setUp(base)
	admin := login(t, base, "admin", adminPassword, "write")
	admin.must(201, "POST", "/api/v1/schedules", map[string]any{"name": "payments-primary", "spec": map[string]any{"owner": "payments", "time_zone": "UTC",
		"layers": []any{map[string]any{"rotation": map[string]any{"kind": "daily", "start": f.clk.Now().AddDate(0, 0, -1).Format("2006-01-02"), "participants": []string{"ana"}}}}}}, nil)
	ana := login(t, base, "ana", "password-ana", "write")
	var sw struct{ ID string }
	start := f.clk.Now().Add(time.Hour).Truncate(time.Minute)
	ana.must(201, "POST", "/api/v1/schedules/payments-primary/swaps", map[string]any{"counterpart": "ben", "start": start, "end": start.Add(2 * time.Hour),
		"message": "dentist"}, &sw)
	waitFor(t, "ben's notice", 20*time.Second, func() bool { return f.ben.count() == 1 })
	f.ben.mu.Lock()
	body := string(f.ben.bodies[0])
	f.ben.mu.Unlock()
	if !strings.Contains(body, "ana asks ben to cover") || !strings.Contains(body, "dentist") || !strings.Contains(body, "/oncall/schedules/payments-primary/swaps") {
		t.Errorf("ben's notice = %s", body)
	}
	ben := login(t, base, "ben", "password-ben", "write")
	ben.must(200, "POST", "/api/v1/swaps/"+sw.ID+"/accept", nil, nil)
	waitFor(t, "ana's notice of the answer", 20*time.Second, func() bool { return f.ana.count() == 1 && len(f.mail.to("ana@example.com")) == 1 })
	if mail := f.mail.to("ana@example.com")[0]; !strings.Contains(mail, "ben accepted") {
		t.Errorf("ana's e-mail:\n%s", mail)
	}
	if f.ben.count() != 1 {
		t.Errorf("ben was told of his own answer: %d messages", f.ben.count())
	}
}

// TestPaging_SilencedAlertKeepsThePageOpen: of a page's two alerts, one
// is silenced while still firing and the other resolves; the page stays
// open, since not every alert of its group resolved.
func TestPaging_SilencedAlertKeepsThePageOpen(t *testing.T) {
	f := newPagingFixture(t)
	srv := startServerConfig(t, f.config(t.TempDir(), ""), f.clk)
	base := srv.URL()
	f.setUp(base)
	admin := login(t, base, "admin", adminPassword, "write")
	// One group for the service: both alerts join one page.
	admin.must(201, "POST", "/api/v1/alert-routes", map[string]any{"name": "by-service", "spec": map[string]any{"position": 1,
		"matchers": []string{`service="ledger"`}, "group_by": []string{"service"}, "group_wait": "1s", "group_interval": "1s",
		"team": "payments", "escalation_policy": "payments-oncall"}}, nil)
	post := func(name string, endsAt time.Time) {
		t.Helper()
		body := fmt.Sprintf(`[{"labels":{"alertname":%q,"service":"ledger"},"startsAt":%q,"endsAt":%q}]`, name,
			f.clk.Now().Add(-time.Minute).Format(time.RFC3339Nano), endsAt.Format(time.RFC3339Nano))
		if code, _, data := ingest(t, base, "/api/v2/alerts", f.key, false, body); code != 200 {
			t.Fatalf("POST = %d %s", code, data)
		}
	}
	post("LedgerSlow", f.clk.Now().Add(3*time.Hour))
	post("LedgerErrors", f.clk.Now().Add(3*time.Hour))
	f.tickUntil("the page", func() bool { return len(f.pages(admin, "open")) == 1 && f.ana.count() == 1 })
	admin.must(201, "POST", "/api/v1/silences", map[string]any{"matchers": []string{`alertname="LedgerSlow"`}, "ends_at": f.clk.Now().Add(time.Hour), "comment": "known"}, nil)
	post("LedgerErrors", f.clk.Now().Add(-time.Second)) // resolved
	f.quiet(2 * time.Minute)
	if open := f.pages(admin, "open"); len(open) != 1 {
		t.Fatalf("the page closed while LedgerSlow still fires (silenced): open pages %+v", open)
	}
}

// TestAlertRoute_UpdateDeletedWithIfMatch: a PUT that names the revision
// it read of a route someone deleted meanwhile is refused (412), not a
// quiet re-creation; without If-Match a PUT still creates or replaces.
func TestAlertRoute_UpdateDeletedWithIfMatch(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	spec := map[string]any{"matchers": []string{`service="api"`}, "group_by": []string{"alertname"}}
	admin.must(201, "POST", "/api/v1/alert-routes", map[string]any{"name": "api", "spec": spec}, nil)
	admin.must(204, "DELETE", "/api/v1/alert-routes/api", nil, nil)
	admin.must(412, "PUT", "/api/v1/alert-routes/api", map[string]any{"spec": spec}, nil, "If-Match", `"1"`)
	admin.must(404, "GET", "/api/v1/alert-routes/api", nil, nil)
	admin.must(200, "PUT", "/api/v1/alert-routes/api", map[string]any{"spec": spec}, nil)
	admin.must(200, "PUT", "/api/v1/alert-routes/api", map[string]any{"spec": spec}, nil, "If-Match", `"1"`)
	admin.must(412, "PUT", "/api/v1/alert-routes/api", map[string]any{"spec": spec}, nil, "If-Match", `"9"`)
}
