package secret_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/secret"
)

func newBox(t *testing.T, fill byte) *secret.Box {
	t.Helper()
	b, err := secret.New(bytes.Repeat([]byte{fill}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBox_SealOpen(t *testing.T) {
	b := newBox(t, 1)
	for _, tc := range []struct{ name, plain string }{
		{"empty", ""},
		{"password", "hunter2"},
		{"url", "https://hooks.slack.com/services/T000/B000/XXXX"},
		{"unicode", "pässwörd ✓"},
		{"large", strings.Repeat("x", 64<<10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := b.Seal([]byte(tc.plain))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s, "v1:") {
				t.Errorf("sealed %q has no v1: prefix", s)
			}
			if tc.plain != "" && strings.Contains(s, tc.plain) {
				t.Errorf("sealed value contains the plaintext")
			}
			got, err := b.Open(s)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.plain {
				t.Errorf("Open = %q, want %q", got, tc.plain)
			}
			s2, _ := b.Seal([]byte(tc.plain))
			if s2 == s {
				t.Errorf("two seals of the same plaintext are equal: the nonce is not random")
			}
		})
	}
}

func TestBox_OpenRejects(t *testing.T) {
	b := newBox(t, 1)
	s, err := b.Seal([]byte("top secret"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "v1:"))
	cases := map[string]string{
		"empty":          "",
		"no prefix":      strings.TrimPrefix(s, "v1:"),
		"other version":  "v2:" + strings.TrimPrefix(s, "v1:"),
		"not base64":     "v1:!!!",
		"too short":      "v1:" + base64.RawURLEncoding.EncodeToString(raw[:10]),
		"truncated tag":  "v1:" + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		"appended bytes": "v1:" + base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)),
	}
	for i := range raw { // flip each byte in turn: nonce, ciphertext, tag
		tampered := append([]byte(nil), raw...)
		tampered[i] ^= 0x01
		cases["flip byte "+string(rune('a'+i%26))+strings.Repeat("'", i/26)] = "v1:" + base64.RawURLEncoding.EncodeToString(tampered)
	}
	for name, v := range cases {
		if _, err := b.Open(v); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("%s: Open = %v, want ErrOpen", name, err)
		}
	}
	if _, err := newBox(t, 2).Open(s); !errors.Is(err, secret.ErrOpen) {
		t.Errorf("Open with another key = %v, want ErrOpen", err)
	}
}

func TestNew_KeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := secret.New(make([]byte, n)); err == nil {
			t.Errorf("New with a %d-byte key succeeded", n)
		}
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoad(t *testing.T) {
	key := bytes.Repeat([]byte{7}, secret.KeySize)
	fromKey := newBoxKey(t, key)
	sealed, _ := fromKey.Seal([]byte("x"))

	t.Run("environment", func(t *testing.T) {
		b, err := secret.Load(env(map[string]string{secret.KeyEnv: base64.StdEncoding.EncodeToString(key)}), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(sealed); err != nil {
			t.Errorf("the environment's key does not open a value sealed with it: %v", err)
		}
	})
	t.Run("environment bad", func(t *testing.T) {
		for _, v := range []string{"not base64 !", base64.StdEncoding.EncodeToString(key[:16])} {
			if _, err := secret.Load(env(map[string]string{secret.KeyEnv: v}), t.TempDir()); err == nil || !strings.Contains(err.Error(), secret.KeyEnv) {
				t.Errorf("Load(%q) = %v, want an error naming %s", v, err, secret.KeyEnv)
			}
		}
	})
	t.Run("file created then reused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		b1, err := secret.Load(env(nil), dir)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, secret.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
		}
		s, _ := b1.Seal([]byte("kept"))
		b2, err := secret.Load(env(nil), dir)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b2.Open(s); err != nil || string(got) != "kept" {
			t.Errorf("second Load does not reuse the key: %q, %v", got, err)
		}
	})
	t.Run("file too open", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, secret.KeyFile)
		if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := secret.Load(env(nil), dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("Load with a 0644 key file = %v, want a refusal", err)
		}
	})
	t.Run("file malformed", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, secret.KeyFile), []byte("short"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := secret.Load(env(nil), dir); err == nil {
			t.Error("Load with a malformed key file succeeded")
		}
	})
}

func newBoxKey(t *testing.T, key []byte) *secret.Box {
	t.Helper()
	b, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzOpen(f *testing.F) {
	b, _ := secret.New(bytes.Repeat([]byte{1}, secret.KeySize))
	s, _ := b.Seal([]byte("seed"))
	f.Add(s)
	f.Add("v1:")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		pt, err := b.Open(v)
		if err == nil && v != s && string(pt) == "seed" {
			// A different encoding of the same bytes is acceptable only
			// if it decodes to the same raw value; anything else is a
			// forgery.
			t.Logf("accepted alternative encoding %q", v)
		}
	})
}

func TestSignVerify(t *testing.T) {
	a, _ := secret.New(make([]byte, secret.KeySize))
	other := make([]byte, secret.KeySize)
	other[0] = 1
	b, _ := secret.New(other)
	sig := a.Sign("ack/123/1700000000")
	if !a.Verify("ack/123/1700000000", sig) {
		t.Fatal("a signature does not verify with its own key")
	}
	for _, bad := range []struct{ msg, sig string }{
		{"ack/124/1700000000", sig}, {"ack/123/1700000000", sig[:len(sig)-1]}, {"ack/123/1700000000", ""},
	} {
		if a.Verify(bad.msg, bad.sig) {
			t.Errorf("Verify(%q, %q) = true", bad.msg, bad.sig)
		}
	}
	if b.Verify("ack/123/1700000000", sig) {
		t.Error("a signature verifies under another key")
	}
	if sealed, _ := a.Seal([]byte("x")); strings.Contains(sealed, sig) {
		t.Error("signing must not reuse the sealing output")
	}
}
