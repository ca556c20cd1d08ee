package notify

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

type fixedRand float64

func (f fixedRand) Float64() float64 { return float64(f) }

func TestBackoff_Next(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute, MaxRetryAfter: 10 * time.Minute, MaxElapsed: time.Hour}
	transient := &Error{Channel: "webhook", Retryable: true}
	permanent := &Error{Channel: "webhook", Status: 400}
	after := func(d time.Duration) error {
		return &Error{Channel: "slack", Status: 429, Retryable: true, RetryAfter: d}
	}
	tests := []struct {
		name      string
		b         Backoff
		attempt   int
		elapsed   time.Duration
		err       error
		rnd       float64
		wantDelay time.Duration
		wantRetry bool
	}{
		{"no error", b, 1, 0, nil, 0.5, 0, false},
		{"permanent", b, 1, 0, permanent, 0.5, 0, false},
		{"cancelled", b, 1, 0, context.Canceled, 0.5, 0, false},
		{"first retry: jitter 0 gives Min", b, 1, 0, transient, 0, time.Second, true},
		{"first retry: ceiling is Min", b, 1, 0, transient, 0.99, time.Second, true},
		{"third attempt: ceiling 4s, half", b, 3, 0, transient, 0.5, 2500 * time.Millisecond, true},
		{"ceiling capped at Max", b, 20, 0, transient, 0.5, 30500 * time.Millisecond, true},
		{"huge attempt does not overflow", b, 1000, 0, transient, 0.5, 30500 * time.Millisecond, true},
		{"attempt 0 treated as 1", b, 0, 0, transient, 0.5, time.Second, true},
		{"plain error is retryable", b, 1, 0, errors.New("dial tcp: refused"), 0, time.Second, true},
		{"Retry-After longer than jitter wins", b, 1, 0, after(30 * time.Second), 0.5, 30 * time.Second, true},
		{"Retry-After shorter than jitter ignored", b, 7, 0, after(2 * time.Second), 0.5, 30500 * time.Millisecond, true},
		{"Retry-After capped", b, 1, 0, after(5 * time.Hour), 0, 10 * time.Minute, true},
		{"budget spent", b, 5, time.Hour, transient, 0.5, 0, false},
		{"jitter shortened to the budget", b, 10, time.Hour - 5*time.Second, transient, 0.9, 5 * time.Second, true},
		{"Retry-After past the budget gives up", b, 1, 55 * time.Minute, after(10 * time.Minute), 0, 0, false},
		{"zero value defaults", Backoff{}, 2, 0, transient, 0.5, 1500 * time.Millisecond, true},
		{"zero value total budget", Backoff{}, 2, 6 * time.Hour, transient, 0.5, 0, false},
		{"bad rand value clamped", b, 3, 0, transient, 1.5, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, ok := tc.b.Next(tc.attempt, tc.elapsed, tc.err, fixedRand(tc.rnd))
			if d != tc.wantDelay || ok != tc.wantRetry {
				t.Errorf("Next = %v, %v; want %v, %v", d, ok, tc.wantDelay, tc.wantRetry)
			}
		})
	}
}

// TestBackoff_Bounded plays a whole delivery against a receiver that
// always fails: the retries stop within MaxElapsed.
func TestBackoff_Bounded(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute, MaxElapsed: time.Hour}
	err := &Error{Retryable: true}
	var elapsed time.Duration
	attempts := 1
	for ; attempts < 10000; attempts++ {
		d, ok := b.Next(attempts, elapsed, err, nil)
		if !ok {
			break
		}
		if d < time.Second || d > time.Minute {
			t.Fatalf("attempt %d: delay %v outside [Min, Max]", attempts, d)
		}
		elapsed += d
	}
	if elapsed > time.Hour || attempts >= 10000 || attempts < 60 {
		t.Errorf("gave up after %d attempts and %v", attempts, elapsed)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 3 ", 3 * time.Second},
		{"99999999999999", 365 * 24 * time.Hour},
		{now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"Sunday, 01-Mar-26 12:00:30 GMT", 30 * time.Second}, // RFC 850
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tc := range tests {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"120", "-1", "Sun, 01 Mar 2026 12:01:00 GMT", "9999999999999999999999", " 1 ", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d := parseRetryAfter(v, now)
		if d < 0 || d > 365*24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}
