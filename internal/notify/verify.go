package notify

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors Verify returns; compare with errors.Is.
var (
	// ErrSignatureMissing: the header is empty.
	ErrSignatureMissing = errors.New("signature header missing")
	// ErrSignatureMalformed: the header is not "t=<unix>,v1=<hex>[,…]".
	ErrSignatureMalformed = errors.New("signature header malformed")
	// ErrSignatureExpired: the timestamp is further from now than the
	// tolerance (a replay, or clocks far apart).
	ErrSignatureExpired = errors.New("signature timestamp outside tolerance")
	// ErrSignatureMismatch: no v1 signature matches the body.
	ErrSignatureMismatch = errors.New("signature does not match")
)

// DefaultTolerance is the timestamp tolerance Verify uses when given 0.
const DefaultTolerance = 5 * time.Minute

// maxSignatureHeader bounds the header Verify parses.
const maxSignatureHeader = 4096

// Verify checks a webhook request as a receiver: header is the value of
// X-Groundcrew-Signature, body the raw request body, now the receiver's
// time. It accepts when the timestamp is within tolerance of now (0:
// DefaultTolerance) and one of the header's v1 signatures (several are
// allowed, to rotate secrets) is the HMAC-SHA256 of "<t>.<body>" keyed with
// secret. Comparison is constant-time. A nil error means authentic.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, sigs, err := parseSignature(header)
	if err != nil {
		return err
	}
	d := now.Sub(time.Unix(ts, 0))
	if d > tolerance || d < -tolerance {
		return ErrSignatureExpired
	}
	want, _ := hex.DecodeString(signature(secret, ts, body))
	ok := false
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	if !ok {
		return ErrSignatureMismatch
	}
	return nil
}

// parseSignature splits "t=<unix>,v1=<hex>[,v1=<hex>…]". Unknown keys
// (future schemes) are skipped; exactly one t and at least one v1 are
// required.
func parseSignature(h string) (ts int64, sigs [][]byte, err error) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, nil, ErrSignatureMissing
	}
	if len(h) > maxSignatureHeader {
		return 0, nil, ErrSignatureMalformed
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, ErrSignatureMalformed
		}
		switch k {
		case "t":
			if seenT || v == "" || len(v) > 19 || strings.TrimLeft(v, "0123456789") != "" {
				return 0, nil, ErrSignatureMalformed
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, nil, ErrSignatureMalformed
			}
			ts, seenT = n, true
		case "v1":
			if len(v) != 64 {
				return 0, nil, ErrSignatureMalformed
			}
			b, err := hex.DecodeString(v)
			if err != nil {
				return 0, nil, ErrSignatureMalformed
			}
			if len(sigs) == 8 {
				return 0, nil, ErrSignatureMalformed
			}
			sigs = append(sigs, b)
		}
	}
	if !seenT || len(sigs) == 0 {
		return 0, nil, ErrSignatureMalformed
	}
	return ts, sigs, nil
}
