package server_test

import (
	"context"
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
