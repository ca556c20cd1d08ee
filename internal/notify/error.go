package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Error is a failed delivery attempt. Its message names the channel and
// the status and carries at most a short excerpt of the response; it never
// contains a webhook URL's path or query, nor a password.
type Error struct {
	// Channel names the channel ("email", "slack", "teams", "webhook").
	Channel string
	// Status is the HTTP status or the SMTP reply code; 0 when the far
	// end gave none (network error, refused configuration).
	Status int
	// Retryable reports whether the same notification may succeed later:
	// network errors, timeouts, HTTP 429 and 5xx, SMTP 4xx.
	Retryable bool
	// RetryAfter is how long the far end asked to wait (Retry-After);
	// 0 when it did not say.
	RetryAfter time.Duration
	// Message is safe to show and to log.
	Message string
	// Err is the underlying error, if any; it is already stripped of
	// secrets.
	Err error
}

// Error returns "<channel>: <message>[: <cause>]", noting when it is
// retryable.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Channel)
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Retryable {
		b.WriteString(" (retryable")
		if e.RetryAfter > 0 {
			b.WriteString(", retry after " + e.RetryAfter.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether a retry of the notification that failed with
// err may succeed. An *Error says so itself; a cancelled context is not
// retryable (the caller gave up); any other error is assumed transient.
// A nil error is not retryable (there is nothing to retry).
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return !errors.Is(err, context.Canceled)
}

// RetryAfterOf returns the wait the far end asked for with err, or 0.
func RetryAfterOf(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// Limits on what a failed response contributes to an error.
const (
	maxExcerpt   = 200     // characters of the response body in a message
	maxReadError = 1 << 10 // bytes of an error body read for the excerpt
	maxDrain     = 64 << 10
)

// redactURL returns only the scheme and host of raw: webhook URLs carry
// their credentials in the path (Slack, Teams) or the query (Teams
// workflows' sig=).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// excerpt makes a short, printable, single-line excerpt of b.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return ' '
		}
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxExcerpt {
		r := []rune(s)
		s = string(r[:maxExcerpt]) + "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 section 10.2.3), relative to now, capped at a year.
// Unparseable or past values give 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	const maxWait = 365 * 24 * time.Hour // beyond any backoff's cap anyway
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(min(n, int64(maxWait/time.Second)))*time.Second, maxWait)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxWait)
	}
	return 0
}

// responseError classifies a non-2xx HTTP response of channel ch: 429 and
// 5xx are retryable (with Retry-After), other statuses permanent. It
// reads a bounded excerpt of the body; the caller closes it.
func responseError(ch string, resp *http.Response, now time.Time) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxReadError))
	e := &Error{Channel: ch, Status: resp.StatusCode}
	e.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
	if x := excerpt(b); x != "" {
		e.Message += ": " + x
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		e.Retryable = true
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		e.Message = fmt.Sprintf("HTTP %d: redirect not followed", resp.StatusCode)
		if loc, err := resp.Location(); err == nil {
			e.Message += " (to " + loc.Scheme + "://" + loc.Host + "); configure the final URL"
		}
	}
	return e
}

// transportError turns an error of http.Client.Do into an *Error without
// the URL (url.Error would print it, credentials and all).
func transportError(ch string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	e := &Error{Channel: ch, Message: "request failed", Err: errors.New(err.Error()), Retryable: true}
	if errors.Is(err, context.Canceled) {
		e.Retryable = false
	}
	return e
}
