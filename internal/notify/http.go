package notify

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"groundcrew.dev/groundcrew/internal/clock"
	"groundcrew.dev/groundcrew/internal/errs"
)

// Options are what channels share with their surroundings. The zero value
// is a usable configuration.
type Options struct {
	// Clock tells the time for Date headers, signature timestamps and
	// Retry-After dates; default clock.Real.
	Clock clock.Clock
	// HTTPClient sends the webhook channels' requests; nil means a client
	// of its own with Timeout. A given client is copied: its redirect
	// policy is replaced by the channels' (see below), and its Timeout is
	// set to Timeout when it has none.
	//
	// Redirects: only 307 and 308 to the same scheme and host are
	// followed (at most 3), as they keep the method and the body. Any
	// other redirect is not followed and fails the delivery permanently,
	// naming the target host: following it would either turn the POST
	// into a GET (301/302/303, dropping the notification) or hand the
	// signed body to another host.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt; default 10 s.
	Timeout time.Duration
	// RootCAs are the roots e-mail's TLS trusts; nil means the system's.
	RootCAs *x509.CertPool
	// UserAgent is sent with HTTP requests; default "groundcrew-notify/1".
	UserAgent string
}

func (o Options) clock() clock.Clock {
	if o.Clock == nil {
		return clock.Real{}
	}
	return o.Clock
}

// httpClient returns the client HTTP channels use, with the redirect
// policy described on Options.HTTPClient.
func (o Options) httpClient() *http.Client {
	var c http.Client
	if o.HTTPClient != nil {
		c = *o.HTTPClient
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = timeout
	}
	c.CheckRedirect = checkRedirect
	return &c
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return http.ErrUseLastResponse
	}
	first := via[0].URL
	code := 0
	if req.Response != nil {
		code = req.Response.StatusCode
	}
	if (code != http.StatusTemporaryRedirect && code != http.StatusPermanentRedirect) ||
		req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

func (o Options) userAgent() string {
	if o.UserAgent == "" {
		return "groundcrew-notify/1"
	}
	return o.UserAgent
}

// poster posts JSON bodies for one HTTP channel.
type poster struct {
	channel string
	client  *http.Client
	clock   clock.Clock
	agent   string
}

func newPoster(channel string, o Options) poster {
	return poster{channel: channel, client: o.httpClient(), clock: o.clock(), agent: o.userAgent()}
}

// post sends body to rawURL with the given extra headers and classifies
// the outcome. Any 2xx is success.
func (p poster) post(ctx context.Context, rawURL string, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return &Error{Channel: p.channel, Message: "bad URL " + redactURL(rawURL)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", p.agent)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return transportError(p.channel, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return responseError(p.channel, resp, p.clock.Now())
}

// checkHTTPURL validates a webhook URL: absolute http(s) with a host and
// no user info (credentials belong in the dedicated fields, so errors and
// logs never carry them).
func checkHTTPURL(field, raw string) error {
	if raw == "" {
		return errs.Invalidf(field, "is required")
	}
	if len(raw) > 4096 {
		return errs.Invalidf(field, "must be at most 4096 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errs.Invalidf(field, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return errs.Invalidf(field, "must not contain user information")
	}
	return nil
}

// checkMaxAlerts validates a MaxAlerts setting.
func checkMaxAlerts(field string, n int) error {
	if n < 0 || n > 10000 {
		return errs.Invalidf(field, "must be 0 (the default) to 10000")
	}
	return nil
}

var errNilNotification = errors.New("nil notification")
