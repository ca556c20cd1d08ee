package notify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/secret"
)

var svcNow = time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC)

type fixture struct {
	db    *db.DB
	clock *clock.Fake
	ids   *identity.Service
	svc   *Service
	sink  *sinkRecorder
	sys   context.Context
}

// sinkRecorder is a FailureSink that keeps what it hears, in the
// transaction it is given (it writes nothing, but checks tx is usable).
type sinkRecorder struct {
	mu     sync.Mutex
	failed []Delivery
}

func (s *sinkRecorder) DeliveryFailed(ctx context.Context, tx *sql.Tx, d Delivery) error {
	var status string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM notify_deliveries WHERE id = $1`, d.ID).Scan(&status); err != nil {
		return err
	}
	if status != "failed" {
		return errors.New("sink called before the failure was recorded")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failed = append(s.failed, d)
	return nil
}

func (s *sinkRecorder) calls() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.failed...)
}

func setup(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	clk := clock.NewFake(svcNow)
	ids := identity.NewService(d, clk, nil, identity.Options{})
	box, err := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	sink := &sinkRecorder{}
	f := &fixture{db: d, clock: clk, ids: ids, sink: sink, sys: identity.WithActor(context.Background(), identity.System()),
		svc: NewService(d, clk, box, ids, ServiceOptions{Sink: sink, Rand: fixedRand(0.999),
			Backoff: Backoff{Min: time.Second, Max: time.Minute, MaxElapsed: time.Hour}, SendTimeout: 10 * time.Second})}
	if err := jobs.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	runner, err := jobs.New(d, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.SetJobs(runner)
	for _, u := range []identity.UserInput{{Name: "bob", Role: identity.RoleMember}, {Name: "vera", Role: identity.RoleViewer}, {Name: "olga", Role: identity.RoleOperator}} {
		if _, err := ids.CreateUser(f.sys, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, tm := range []identity.TeamInput{{Name: "payments", Members: []string{"bob"}}, {Name: "platform"}} {
		if _, err := ids.CreateTeam(f.sys, tm); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fixture) as(t *testing.T, name string) context.Context {
	t.Helper()
	u, err := f.ids.GetUser(f.sys, name)
	if err != nil {
		t.Fatal(err)
	}
	a := &identity.Actor{UserID: u.ID, Name: u.Name, Role: u.Role, Scope: identity.ScopeWrite, Via: "session"}
	for _, tn := range u.Teams {
		tm, _ := f.ids.GetTeam(f.sys, tn)
		a.TeamIDs = append(a.TeamIDs, tm.ID)
	}
	return identity.WithActor(context.Background(), a)
}

const (
	hookSecret = "hmac-secret-0123456789"
	hookToken  = "bearer-token-abcdef"
	slackURL   = "https://hooks.slack.com/services/T000/B000/SLACKSECRET"
	smtpPw     = "smtp-password-xyz"
)

var allSecrets = []string{hookSecret, hookToken, "SLACKSECRET", smtpPw}

// receiverInput has a webhook to url (signed, with a bearer token), a
// Slack channel and an e-mail channel.
func receiverInput(name, owner, url string) Input {
	return Input{Name: name, Labels: map[string]string{"tier": "1"}, Spec: Spec{Description: "test", Owner: owner, Channels: []ChannelSpec{
		{Webhook: &WebhookConfig{URL: url, Secret: hookSecret, BearerToken: hookToken}},
		{Slack: &SlackConfig{URL: slackURL}},
		{Email: &EmailConfig{From: "gc@example.com", To: []string{"ops@example.com"}, SMTP: SMTPConfig{Host: "smtp.example.com", Username: "u", Password: smtpPw}}},
	}}}
}

func assertNoSecrets(t *testing.T, what string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range allSecrets {
		if strings.Contains(string(b), s) {
			t.Errorf("%s contains the secret %q: %s", what, s, b)
		}
	}
}

func TestService_Receivers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		olga, bob, vera := f.as(t, "olga"), f.as(t, "bob"), f.as(t, "vera")

		r, err := f.svc.Create(olga, receiverInput("ops", "", "https://hooks.example.com/alerts"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Revision != 1 || r.Channels[0].Webhook.Secret != Redacted || r.Channels[0].Webhook.BearerToken != Redacted ||
			r.Channels[0].Webhook.URL != "https://hooks.example.com/alerts" || r.Channels[1].Slack.URL != Redacted ||
			r.Channels[2].Email.SMTP.Password != Redacted || r.Channels[2].Email.SMTP.Username != "u" {
			t.Errorf("created receiver shows = %+v", r.Channels)
		}
		assertNoSecrets(t, "Create's result", r)
		got, err := f.svc.Get(vera, "ops")
		if err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, "Get as viewer", got)
		var raw string
		if err := d.Reader().QueryRowContext(t.Context(), `SELECT spec || secrets FROM notify_receivers WHERE name = 'ops'`).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		assertNoSecrets(t, "the stored row", raw)

		// <redacted> written back keeps every secret: unchanged.
		in := Input{Labels: got.Labels, Spec: got.Spec}
		same, err := f.svc.Update(olga, "ops", in, got.Revision)
		if err != nil {
			t.Fatal(err)
		}
		if same.Revision != 1 {
			t.Errorf("writing back the redacted receiver changed it: revision %d", same.Revision)
		}
		// A changed description with redacted secrets keeps them.
		in.Description = "changed"
		upd, err := f.svc.Update(olga, "ops", in, 1)
		if err != nil {
			t.Fatal(err)
		}
		if upd.Revision != 2 {
			t.Errorf("revision = %d, want 2", upd.Revision)
		}
		stored, _ := getReceiver(t.Context(), d.Reader(), "ops")
		full, err := f.svc.channels(stored)
		if err != nil {
			t.Fatal(err)
		}
		if full[0].Webhook.Secret != hookSecret || full[0].Webhook.BearerToken != hookToken || full[1].Slack.URL != slackURL || full[2].Email.SMTP.Password != smtpPw {
			t.Errorf("secrets after a redacted update = %+v %+v %+v", full[0].Webhook, full[1].Slack, full[2].Email.SMTP)
		}
		// A stale revision is refused.
		if _, err := f.svc.Update(olga, "ops", in, 1); !errs.Is(err, errs.Precondition) {
			t.Errorf("stale update = %v, want precondition failed", err)
		}
		// <redacted> where nothing is stored (a channel moved) names the field.
		moved := Input{Spec: Spec{Channels: []ChannelSpec{in.Channels[1], in.Channels[0]}}}
		if _, err := f.svc.Update(olga, "ops", moved, 0); errs.FieldOf(err) != "channels[0].slack.url" {
			t.Errorf("redacted secret of a moved channel = %v (field %q), want channels[0].slack.url", err, errs.FieldOf(err))
		}

		// The audit log has the changes, without secrets.
		recs, err := audit.List(t.Context(), d.Reader(), audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, rec := range recs {
			if rec.ObjectKind == "receiver" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("audit has %d receiver records, want 2 (create, update)", n)
		}
		assertNoSecrets(t, "the audit log", recs)

		// Authorization: members write their team's receivers only.
		if _, err := f.svc.Create(vera, receiverInput("v", "payments", "https://x.example.com")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("viewer create = %v, want forbidden", err)
		}
		if _, err := f.svc.Create(bob, receiverInput("b0", "", "https://x.example.com")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("member create without owner = %v, want forbidden", err)
		}
		if _, err := f.svc.Create(bob, receiverInput("b1", "platform", "https://x.example.com")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("member create for another team = %v, want forbidden", err)
		}
		if _, err := f.svc.Create(bob, receiverInput("b2", "payments", "https://x.example.com")); err != nil {
			t.Errorf("member create for own team = %v", err)
		}
		if err := f.svc.Delete(bob, "ops", 0); !errs.Is(err, errs.Forbidden) {
			t.Errorf("member delete of an operators' receiver = %v, want forbidden", err)
		}
		if _, err := f.svc.Create(olga, receiverInput("x", "nobody", "https://x.example.com")); errs.FieldOf(err) != "owner" {
			t.Errorf("unknown owner = %v, want field owner", err)
		}
		list, next, err := f.svc.List(vera, "", 1)
		if err != nil || len(list) != 1 || list[0].Name != "b2" || next != "b2" {
			t.Errorf("List page 1 = %v %q %v", list, next, err)
		}
		assertNoSecrets(t, "List", list)
		if err := f.svc.Delete(bob, "b2", 0); err != nil {
			t.Errorf("member delete of own receiver = %v", err)
		}
	})
}

func TestInput_Validate(t *testing.T) {
	ok := func() Input { return receiverInput("r", "", "https://hooks.example.com") }
	tests := []struct {
		name  string
		edit  func(*Input)
		field string
	}{
		{"valid", func(*Input) {}, ""},
		{"bad name", func(in *Input) { in.Name = "Bad Name" }, "name"},
		{"no channels", func(in *Input) { in.Channels = nil }, "channels"},
		{"two types", func(in *Input) { in.Channels[1].Teams = &TeamsConfig{URL: "https://x.example.com"} }, "channels[1]"},
		{"none", func(in *Input) { in.Channels[1] = ChannelSpec{} }, "channels[1]"},
		{"smtp port", func(in *Input) { in.Channels[2].Email.SMTP.Port = 70000 }, "channels[2].email.smtp.port"},
		{"short hmac secret", func(in *Input) { in.Channels[0].Webhook.Secret = "short" }, "channels[0].webhook.secret"},
		{"slack template", func(in *Input) { in.Channels[1].Slack.Text = "{{ .Nope }}" }, "channels[1].slack.text"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := ok()
			tc.edit(&in)
			err := in.Validate()
			if got := errs.FieldOf(err); got != tc.field || (tc.field != "" && !errs.Is(err, errs.Invalid)) {
				t.Errorf("Validate = %v (field %q), want field %q", err, got, tc.field)
			}
		})
	}
}

func TestSecretsSplitJoin(t *testing.T) {
	chans := receiverInput("r", "", "https://user:pw@hooks.example.com/x?token=abc").Channels
	pub, sec := split(chans)
	if pub[0].Webhook.URL != Redacted {
		t.Errorf("a webhook URL with credentials is shown: %q", pub[0].Webhook.URL)
	}
	if chans[0].Webhook.URL == Redacted {
		t.Error("split changed its input")
	}
	back := join(pub, sec)
	if !sameJSON(back, chans) {
		t.Errorf("join(split(x)) != x:\n%+v\n%+v", back, chans)
	}
}

// deliveryFixture creates a receiver "hook" with one webhook channel to
// url and enqueues a notification to it.
func (f *fixture) enqueue(t *testing.T, url string) uuid.UUID {
	t.Helper()
	in := Input{Name: "hook", Spec: Spec{Channels: []ChannelSpec{{Webhook: &WebhookConfig{URL: url, Secret: hookSecret}}}}}
	if _, err := f.svc.Create(f.sys, in); err != nil && !errs.Is(err, errs.Conflict) {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	err := f.db.InTx(t.Context(), func(tx *sql.Tx) error {
		var err error
		ids, err = f.svc.Enqueue(t.Context(), tx, "hook", testNotification())
		return err
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("Enqueue = %v, %v", ids, err)
	}
	return ids[0]
}

func snoozeOf(t *testing.T, err error) time.Duration {
	t.Helper()
	var se *river.JobSnoozeError
	if !errors.As(err, &se) {
		t.Fatalf("deliver = %v, want a snooze", err)
	}
	return se.Duration
}

func TestService_Deliver(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		rec := newRecorder(t)

		t.Run("503 with Retry-After then 200", func(t *testing.T) {
			id := f.enqueue(t, rec.URL+"/hook")
			rec.respond(http.StatusServiceUnavailable, "busy", "Retry-After", "7")
			if got := snoozeOf(t, f.svc.deliver(t.Context(), id)); got != 7*time.Second {
				t.Errorf("retry after %v, want the 7 s Retry-After asked", got)
			}
			f.clock.Advance(7 * time.Second)
			rec.respond(http.StatusOK, "")
			if err := f.svc.deliver(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.Delivery(f.sys, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != DeliveryDelivered || got.Attempts != 2 || len(got.AttemptLog) != 2 || got.DeliveredAt == nil ||
				got.AttemptLog[0].OK || got.AttemptLog[0].StatusCode != 503 || !got.AttemptLog[0].Retryable || !got.AttemptLog[1].OK {
				t.Errorf("delivery = %+v", got)
			}
			// Delivered is final: another run of the job sends nothing.
			before := len(rec.requests())
			if err := f.svc.deliver(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			if len(rec.requests()) != before {
				t.Error("a delivered delivery was sent again")
			}
			// The body is signed and carries the notification.
			last := rec.requests()[before-1]
			if err := Verify(hookSecret, last.Header.Get(SignatureHeader), last.Body, f.clock.Now(), time.Minute); err != nil {
				t.Errorf("signature: %v", err)
			}
		})

		t.Run("400 fails at once", func(t *testing.T) {
			id := f.enqueue(t, rec.URL+"/hook")
			rec.respond(http.StatusBadRequest, "bad payload")
			if err := f.svc.deliver(t.Context(), id); err != nil {
				t.Fatalf("deliver = %v, want nil (done)", err)
			}
			got, _ := f.svc.Delivery(f.sys, id)
			if got.Status != DeliveryFailed || got.Attempts != 1 || !strings.Contains(got.LastError, "400") {
				t.Errorf("delivery = %+v", got)
			}
			calls := f.sink.calls()
			if len(calls) != 1 || calls[0].ID != id || !strings.Contains(calls[0].LastError, "400") {
				t.Errorf("sink heard %+v", calls)
			}
		})

		t.Run("retry time runs out", func(t *testing.T) {
			id := f.enqueue(t, rec.URL+"/hook")
			rec.respond(http.StatusBadGateway, "down")
			n := 0
			for ; n < 100; n++ {
				err := f.svc.deliver(t.Context(), id)
				if err == nil {
					break
				}
				f.clock.Advance(snoozeOf(t, err))
			}
			got, _ := f.svc.Delivery(f.sys, id)
			if got.Status != DeliveryFailed || got.Attempts != n+1 || f.clock.Now().Sub(got.CreatedAt) > time.Hour {
				t.Errorf("after %d snoozes: status %s, %d attempts, elapsed %v", n, got.Status, got.Attempts, f.clock.Now().Sub(got.CreatedAt))
			}
			if len(f.sink.calls()) != 2 {
				t.Errorf("sink heard %d failures, want 2", len(f.sink.calls()))
			}
		})

		t.Run("receiver deleted", func(t *testing.T) {
			id := f.enqueue(t, rec.URL+"/hook")
			if err := f.svc.Delete(f.sys, "hook", 0); err != nil {
				t.Fatal(err)
			}
			if err := f.svc.deliver(t.Context(), id); err != nil {
				t.Fatal(err)
			}
			got, _ := f.svc.Delivery(f.sys, id)
			if got.Status != DeliveryFailed || !strings.Contains(got.LastError, "deleted") || got.Receiver != "hook" {
				t.Errorf("delivery = %+v", got)
			}
		})

		t.Run("list", func(t *testing.T) {
			all, _, err := f.svc.Deliveries(f.as(t, "vera"), DeliveryFilter{Receiver: "hook"})
			if err != nil || len(all) != 4 {
				t.Fatalf("Deliveries = %d, %v", len(all), err)
			}
			for i := 1; i < len(all); i++ {
				if all[i].ID.String() > all[i-1].ID.String() {
					t.Error("deliveries are not newest first")
				}
			}
			failed, _, _ := f.svc.Deliveries(f.sys, DeliveryFilter{Status: DeliveryFailed})
			if len(failed) != 3 {
				t.Errorf("failed deliveries = %d, want 3", len(failed))
			}
			p1, next, _ := f.svc.Deliveries(f.sys, DeliveryFilter{Limit: 3})
			p2, next2, _ := f.svc.Deliveries(f.sys, DeliveryFilter{Limit: 3, Before: next})
			if len(p1) != 3 || len(p2) != 1 || next2 != "" || p2[0].ID != all[3].ID {
				t.Errorf("pages %d %d next %q", len(p1), len(p2), next2)
			}
			if _, _, err := f.svc.Deliveries(f.sys, DeliveryFilter{Status: "bogus"}); errs.FieldOf(err) != "status" {
				t.Errorf("bad status = %v", err)
			}
		})
	})
}

// TestService_EmailThroughJobs sends an e-mail through a real River job to
// a real SMTP server.
func TestService_EmailThroughJobs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		if err := jobs.Migrate(t.Context(), d); err != nil {
			t.Fatal(err)
		}
		serverTLS, pool := tlsPair(t)
		srv := startSMTP(t, smtpOpts{tls: serverTLS})
		box, _ := secret.New(bytes.Repeat([]byte{4}, secret.KeySize))
		ids := identity.NewService(d, clock.Real{}, nil, identity.Options{})
		svc := NewService(d, clock.Real{}, box, ids, ServiceOptions{Channel: Options{RootCAs: pool}, SendTimeout: 10 * time.Second})
		workers := river.NewWorkers()
		river.AddWorker(workers, svc.Worker())
		runner, err := jobs.New(d, jobs.Options{Workers: workers, FetchPollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		svc.SetJobs(runner)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := runner.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stop, c := context.WithTimeout(context.Background(), 10*time.Second)
			defer c()
			_ = runner.Stop(stop)
		})
		sys := identity.WithActor(context.Background(), identity.System())
		cfg := emailConfig(srv, TLSStartTLS)
		if _, err := svc.Create(sys, Input{Name: "mail", Spec: Spec{Channels: []ChannelSpec{{Email: &cfg}}}}); err != nil {
			t.Fatal(err)
		}
		dids, err := svc.Test(sys, "mail")
		if err != nil || len(dids) != 1 {
			t.Fatalf("Test = %v, %v", dids, err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(srv.messages()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		msgs := srv.messages()
		if len(msgs) != 1 || !strings.Contains(string(msgs[0].data), "GroundcrewTest") {
			t.Fatalf("SMTP server received %d messages", len(msgs))
		}
		var got Delivery
		for time.Now().Before(deadline) {
			if got, err = svc.Delivery(sys, dids[0]); err == nil && got.Status == DeliveryDelivered {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got.Status != DeliveryDelivered || len(got.AttemptLog) != 1 {
			t.Errorf("delivery = %+v, %v", got, err)
		}
	})
}
