package check_test

import (
	"context"
	"testing"
	"time"
	"unicode/utf8"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
)

// FuzzPing feeds arbitrary secrets and messages to the heartbeat endpoint's
// service method: it must never panic, accept only the real secret, and
// store only bounded, valid UTF-8 messages.
func FuzzPing(f *testing.F) {
	d := dbtest.Open(f, dbtest.SQLiteDSN(f))
	fx := setup(f, d)
	in := check.Input{Name: "cron", Spec: check.Spec{Service: "db", Environment: "prod", Interval: probe.Duration(time.Hour)}}
	in.Spec.Spec.Type = check.Heartbeat
	_, secret, err := fx.svc.Create(fx.sys, in)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(secret, false, "ok")
	f.Add(secret, true, "disk full\x00\xff")
	f.Add("gchb_", false, "")
	f.Add("", true, string(make([]byte, 5000)))
	f.Fuzz(func(t *testing.T, s string, fail bool, msg string) {
		_, err := fx.svc.Ping(context.Background(), s, fail, msg)
		if s == secret {
			if err != nil {
				t.Fatalf("the real secret was refused: %v", err)
			}
		} else if !errs.Is(err, errs.NotFound) {
			t.Fatalf("Ping(%q) = %v, want not found", s, err)
		}
		res, err := fx.svc.Results(fx.sys, "cron", time.Now().Add(-time.Hour), time.Now().Add(time.Hour), check.ResultsCursor{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) > 0 && (len(res[0].Reason) > check.MaxPingMessage+3 || !utf8.ValidString(res[0].Reason)) {
			t.Fatalf("stored message of %d bytes, valid UTF-8 %v", len(res[0].Reason), utf8.ValidString(res[0].Reason))
		}
	})
}
