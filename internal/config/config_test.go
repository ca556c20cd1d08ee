package config_test

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"groundcrew.dev/groundcrew/internal/config"
)

func resolve(t *testing.T, env map[string]string, args ...string) (config.Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	config.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return config.Resolve(fs, func(k string) string { return env[k] })
}

func TestResolve_AlertKeyRateAndTrustedProxies(t *testing.T) {
	c, err := resolve(t, map[string]string{"GROUNDCREW_ALERT_KEY_RATE": "200"}, "--trusted-proxies", "10.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := c.AlertKeyRateValue(); r != 200 {
		t.Errorf("alert key rate = %v, want 200 from the environment", r)
	}
	if p, _ := c.TrustedProxyPrefixes(); len(p) != 2 || p[0].String() != "10.0.0.0/8" || p[1].String() != "::1/128" {
		t.Errorf("trusted proxies = %v", p)
	}
	if c, err = resolve(t, nil); err != nil {
		t.Fatal(err)
	}
	if r, _ := c.AlertKeyRateValue(); r != 50 {
		t.Errorf("default alert key rate = %v, want 50", r)
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"--alert-key-rate", "0", "alert key rate"},
		{"--alert-key-rate", "fast", "alert key rate"},
		{"--trusted-proxies", "10.0.0.0/33", "trusted proxy"},
		{"--trusted-proxies", "proxy.internal", "trusted proxy"},
	} {
		if _, err := resolve(t, nil, bad.flag, bad.value); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s %s: %v, want an error about the %s", bad.flag, bad.value, err, bad.want)
		}
	}
}
