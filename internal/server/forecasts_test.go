package server_test

import (
	"context"
	"database/sql"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/secret"
	"groundcrew.dev/groundcrew/internal/server"
)

// startFakeClockServer starts a server on SQLite (or PostgreSQL when dsn
// says so) whose clock the test moves.
func startFakeClockServer(t *testing.T, dsn string, clk clock.Clock) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	if dsn == "" {
		dsn = "sqlite://" + filepath.Join(dir, "groundcrew.db")
	}
	cfg := config.Config{Listen: "127.0.0.1:0", DataDir: dir, Database: dsn, LogFormat: "text", LogLevel: "error", BaseURL: "http://127.0.0.1:0"}
	srv := server.New(cfg, server.Options{Clock: clk, Out: io.Discard, Getenv: func(k string) string {
		switch k {
		case "GROUNDCREW_ADMIN_PASSWORD":
			return adminPassword
		case secret.KeyEnv:
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
	return srv, srv.URL()
}

// TestForecastRule_EndToEnd pushes a filling disk through the API, applies
// a ForecastRule, and sees the alert fire after `for` with the predicted
// crossing, the chart, and the rule's export round-trip.
func TestForecastRule_EndToEnd(t *testing.T) {
	engines := map[string]string{"sqlite": ""}
	if _, ok := dbtest.Engines(t)["postgres"]; ok {
		engines["postgres"] = dbtest.PostgresDSN(t)
	}
	for name, dsn := range engines {
		t.Run(name, func(t *testing.T) {
			now := time.Now().UTC().Truncate(time.Minute)
			clk := clock.NewFake(now)
			srv, base := startFakeClockServer(t, dsn, clk)
			admin := login(t, base, "admin", adminPassword, "write")

			start := now.Add(-30 * time.Hour)
			fill := func(at time.Time) float64 { return 0.4 + 0.01*at.Sub(start).Hours() } // 0.9 at now+20h
			next := start
			feed := func() {
				var samples []any
				for ; !next.After(clk.Now()) && len(samples) < 10000; next = next.Add(5 * time.Minute) {
					samples = append(samples, map[string]any{"t": next, "v": fill(next)})
				}
				var res struct{ Samples int }
				admin.must(200, "POST", "/api/v1/metrics", map[string]any{"series": []any{map[string]any{
					"name": "node_filesystem_used_ratio", "labels": map[string]string{"host": "db1", "mountpoint": "/"}, "samples": samples}}}, &res)
				if res.Samples != len(samples) {
					t.Fatalf("pushed %d samples, stored %d", len(samples), res.Samples)
				}
			}
			feed()
			// A bad sample is refused naming its field.
			code, _, body := admin.do("POST", "/api/v1/metrics", map[string]any{"series": []any{map[string]any{"name": "x",
				"samples": []any{map[string]any{"t": now, "v": 1}, map[string]any{"t": now.Add(time.Hour), "v": 1}}}}})
			if code != 422 || !strings.Contains(string(body), "series[0].samples[1].t") {
				t.Fatalf("bad push = %d %s", code, body)
			}

			var series struct {
				Items []struct {
					ID     string
					Labels map[string]string
				}
			}
			admin.must(200, "GET", "/api/v1/metrics/series?name=node_filesystem_used_ratio&label=host=db1", nil, &series)
			if len(series.Items) != 1 || series.Items[0].Labels["mountpoint"] != "/" {
				t.Fatalf("series = %+v", series)
			}
			var samples struct{ Items []struct{ V float64 } }
			admin.must(200, "GET", "/api/v1/metrics/series/"+series.Items[0].ID+"/samples?from="+url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), nil, &samples)
			if len(samples.Items) != 13 || samples.Items[12].V != fill(now) {
				t.Fatalf("samples of the last hour = %+v", samples.Items)
			}

			doc := map[string]any{"apiVersion": "groundcrew.dev/v1", "kind": "ForecastRule", "metadata": map[string]any{"name": "db-disk-full"},
				"spec": map[string]any{"series": map[string]any{"name": "node_filesystem_used_ratio", "matchers": []string{`host=~"db.*"`}},
					"method": "linear", "window": "12h", "horizon": "24h", "threshold": 0.9, "direction": "rising", "for": "15m",
					"min_history": "6h", "guard": map[string]any{"above": 0.6}, "severity": "warning",
					"annotations": map[string]string{"summary": "disk filling up"}}}
			admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": []any{doc}}, nil)
			// The export applies back unchanged.
			var exported struct {
				Items []map[string]any
			}
			admin.must(200, "GET", "/api/v1/documents/forecastrules", nil, &exported)
			var applied struct{ Changes []struct{ Action string } }
			admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": exported.Items}, &applied)
			if len(applied.Changes) != 1 || applied.Changes[0].Action != "unchanged" {
				t.Fatalf("re-applying the export: %+v (export %v)", applied, exported.Items)
			}

			alerts := func() []map[string]any {
				var page struct{ Items []map[string]any }
				admin.must(200, "GET", "/api/v1/alerts?label="+url.QueryEscape("forecast=db-disk-full"), nil, &page)
				return page.Items
			}
			for i := range 4 { // pending at +0, +5m, +10m; fires at +15m
				if err := srv.Forecasts.Evaluate(context.Background()); err != nil {
					t.Fatal(err)
				}
				if got := alerts(); (i < 3) != (len(got) == 0) {
					t.Fatalf("round %d: %d alerts", i, len(got))
				}
				if i < 3 {
					clk.Advance(5 * time.Minute)
					feed()
				}
			}
			a := alerts()[0]
			ann, _ := a["annotations"].(map[string]any)
			predicted, err := time.Parse(time.RFC3339, ann["predicted_at"].(string))
			if want := now.Add(20 * time.Hour); err != nil || predicted.Sub(want).Abs() > 5*time.Minute {
				t.Fatalf("predicted crossing %v (%v), want %s ± 5 min", predicted, err, want)
			}
			chart, _ := ann["chart"].(string)
			if !strings.HasPrefix(chart, base+"/api/v1/forecast-rules/db-disk-full/chart.svg?series=") {
				t.Fatalf("chart link %q", chart)
			}
			var status struct {
				Items []struct {
					Firing bool
					Reason string
				}
			}
			admin.must(200, "GET", "/api/v1/forecast-rules/db-disk-full/status", nil, &status)
			if len(status.Items) != 1 || !status.Items[0].Firing || !strings.Contains(status.Items[0].Reason, "crosses 0.9") {
				t.Fatalf("status = %+v", status)
			}
			code, hdr, svg := admin.do("GET", strings.TrimPrefix(chart, base), nil)
			if code != 200 || hdr.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(svg), "<svg") {
				t.Fatalf("chart = %d %s %.80s", code, hdr.Get("Content-Type"), svg)
			}
		})
	}
}

// TestForecastRule_CheckLatency forecasts a check's own p95 latency, a
// series computed from its results: a response time creeping up by 20 ms
// an hour crosses 800 ms within the horizon, and the alert names the
// check.
func TestForecastRule_CheckLatency(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Minute)
	clk := clock.NewFake(now)
	srv, base := startFakeClockServer(t, "", clk)
	admin := login(t, base, "admin", adminPassword, "write")
	catalogFixture(admin)
	admin.must(201, "POST", "/api/v1/checks", map[string]any{"name": "web-home", "service": "web", "environment": "prod", "type": "heartbeat", "interval": "1h"}, nil)
	var checkID string
	if err := srv.DB.Reader().QueryRowContext(context.Background(), `SELECT id FROM checks WHERE name = 'web-home'`).Scan(&checkID); err != nil {
		t.Fatal(err)
	}
	// 24 hours of results every minute, 300 ms rising 20 ms an hour
	// (p95: the slow tail, +50 ms), as the runner stores them.
	start := now.Add(-24 * time.Hour)
	err := srv.DB.InTx(context.Background(), func(tx *sql.Tx) error {
		for at := start; at.Before(now); at = at.Add(time.Minute) {
			ms := 300 + 20*at.Sub(start).Hours()
			if at.Minute()%5 == 4 {
				ms += 50
			}
			if _, err := tx.Exec(`INSERT INTO check_results (check_id, location, at, status, duration_us, reason, conditions) VALUES ($1, 'local', $2, 'up', $3, '', '[]')`,
				checkID, at, int64(ms*1000)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var series struct{ Items []struct{ ID string } }
	doc := map[string]any{"apiVersion": "groundcrew.dev/v1", "kind": "ForecastRule", "metadata": map[string]any{"name": "web-latency"},
		"spec": map[string]any{"series": map[string]any{"name": "check_duration_p95_seconds", "matchers": []string{`check="web-home"`}},
			"method": "linear", "window": "12h", "horizon": "2h", "threshold": 0.8, "direction": "rising", "min_history": "6h",
			"annotations": map[string]string{"summary": "web-home getting slow"}}}
	admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": []any{doc}}, nil)
	for range 2 { // pending, then firing (for: 0)
		if err := srv.Forecasts.Evaluate(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	// p95 now ≈ 0.3 + 0.48 + 0.05 = 0.83 s: already over, predicted at once.
	var page struct{ Items []map[string]any }
	admin.must(200, "GET", "/api/v1/alerts?label="+url.QueryEscape("forecast=web-latency"), nil, &page)
	if len(page.Items) != 1 {
		_, _, st := admin.do("GET", "/api/v1/forecast-rules/web-latency/status", nil)
		t.Fatalf("alerts of the rule = %+v; status %s", page.Items, st)
	}
	labels, _ := page.Items[0]["labels"].(map[string]any)
	if labels["check"] != "web-home" || labels["service"] != "web" {
		t.Errorf("alert labels = %v", labels)
	}
	var st struct {
		Items []struct {
			Series    struct{ ID, Name string }
			Condition bool
		}
	}
	admin.must(200, "GET", "/api/v1/forecast-rules/web-latency/status", nil, &st)
	status := st.Items
	if len(status) != 1 || status[0].Series.Name != "check_duration_p95_seconds" || !status[0].Condition {
		t.Fatalf("rule status = %+v", status)
	}
	// The chart and the samples of the computed series are served like
	// any other's.
	code, _, svg := admin.do("GET", "/api/v1/forecast-rules/web-latency/chart.svg", nil)
	if code != 200 || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("chart = %d %.200s", code, svg)
	}
	admin.must(200, "GET", "/api/v1/metrics/series/"+status[0].Series.ID+"/samples?from="+url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339)), nil, &series)
}
