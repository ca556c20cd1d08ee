// Package config resolves the settings of `groundcrew serve` from, in this
// order of precedence: command-line flags, GROUNDCREW_* environment
// variables, an optional YAML file (--config / GROUNDCREW_CONFIG), and the
// built-in defaults.
package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is the resolved configuration of `groundcrew serve`.
type Config struct {
	Listen    string `yaml:"listen"`     // address to listen on
	DataDir   string `yaml:"data_dir"`   // where SQLite and generated keys live
	Database  string `yaml:"database"`   // sqlite://PATH or postgres://…; default SQLite in DataDir
	ConfigDir string `yaml:"config_dir"` // YAML documents applied at start
	TLSCert   string `yaml:"tls_cert"`
	TLSKey    string `yaml:"tls_key"`
	BaseURL   string `yaml:"base_url"`   // the URL people reach the server at; default from Listen
	LogFormat string `yaml:"log_format"` // text or json
	LogLevel  string `yaml:"log_level"`  // debug, info, warn, error
	// CheckRetention is how long raw check results are kept (hourly and
	// daily rollups stay for uptime); "14d", "72h".
	CheckRetention string `yaml:"check_retention"`
	// TrustedProxies lists the addresses or CIDR ranges of reverse
	// proxies whose X-Forwarded-For is believed ("10.0.0.0/8,::1");
	// empty: none, the peer address is the client's.
	TrustedProxies string `yaml:"trusted_proxies"`
	// AlertKeyRate is how many requests per second each alert integration
	// key may send (bursts of ten times that); "50" by default.
	AlertKeyRate string `yaml:"alert_key_rate"`
	// PagingMailer names the receiver whose e-mail channel sends pages to
	// people's e-mail contact methods (its sender and SMTP server).
	PagingMailer string `yaml:"paging_mailer"`
	// PageThrottle bounds the messages one contact method receives:
	// "1/1m" (the default) is at most one a minute; pages due meanwhile
	// are bundled into the next message.
	PageThrottle string `yaml:"page_throttle"`
	File         string `yaml:"-"` // the YAML file read, if any
}

// setting is one configurable value: its flag, environment variable and
// place in Config.
type setting struct {
	flag, env, usage string
	def              func() string
	field            func(c *Config) *string
}

var settings = []setting{
	{"listen", "GROUNDCREW_LISTEN", "address to listen on", func() string { return "127.0.0.1:8080" }, func(c *Config) *string { return &c.Listen }},
	{"data-dir", "GROUNDCREW_DATA_DIR", "directory for the SQLite database and generated keys", func() string { return "./data" }, func(c *Config) *string { return &c.DataDir }},
	{"database", "GROUNDCREW_DATABASE", "database: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data directory)", func() string { return "" }, func(c *Config) *string { return &c.Database }},
	{"config-dir", "GROUNDCREW_CONFIG_DIR", "directory of YAML documents applied at start (default: examples/ in the source tree, else none)", defaultConfigDir, func(c *Config) *string { return &c.ConfigDir }},
	{"tls-cert", "GROUNDCREW_TLS_CERT", "TLS certificate file (PEM); with --tls-key serves HTTPS", func() string { return "" }, func(c *Config) *string { return &c.TLSCert }},
	{"tls-key", "GROUNDCREW_TLS_KEY", "TLS private key file (PEM)", func() string { return "" }, func(c *Config) *string { return &c.TLSKey }},
	{"base-url", "GROUNDCREW_BASE_URL", "URL people use to reach this server (default: from --listen)", func() string { return "" }, func(c *Config) *string { return &c.BaseURL }},
	{"log-format", "GROUNDCREW_LOG_FORMAT", "log format: text or json", func() string { return "text" }, func(c *Config) *string { return &c.LogFormat }},
	{"log-level", "GROUNDCREW_LOG_LEVEL", "log level: debug, info, warn or error", func() string { return "info" }, func(c *Config) *string { return &c.LogLevel }},
	{"check-retention", "GROUNDCREW_CHECK_RETENTION", "how long raw check results are kept, e.g. 14d or 72h (rollups stay)", func() string { return "14d" }, func(c *Config) *string { return &c.CheckRetention }},
	{"paging-mailer", "GROUNDCREW_PAGING_MAILER", "receiver whose e-mail channel sends pages to people's e-mail addresses", func() string { return "" }, func(c *Config) *string { return &c.PagingMailer }},
	{"page-throttle", "GROUNDCREW_PAGE_THROTTLE", "at most N messages per contact method in a window, N/WINDOW (pages bundle meanwhile)", func() string { return "1/1m" }, func(c *Config) *string { return &c.PageThrottle }},
	{"alert-key-rate", "GROUNDCREW_ALERT_KEY_RATE", "requests per second each alert integration key may send (bursts of 10x)", func() string { return "50" }, func(c *Config) *string { return &c.AlertKeyRate }},
	{"trusted-proxies", "GROUNDCREW_TRUSTED_PROXIES", "comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For to believe", func() string { return "" }, func(c *Config) *string { return &c.TrustedProxies }},
}

// Bind registers the serve flags on fs, plus --config.
func Bind(fs *pflag.FlagSet) {
	for _, s := range settings {
		fs.String(s.flag, "", fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	fs.String("config", "", "optional YAML file with the same settings (env GROUNDCREW_CONFIG)")
}

// Resolve returns the configuration from the flags in fs (registered by
// Bind), the environment (getenv) and the YAML file.
func Resolve(fs *pflag.FlagSet, getenv func(string) string) (Config, error) {
	var c Config
	file, _ := fs.GetString("config")
	if file == "" {
		file = getenv("GROUNDCREW_CONFIG")
	}
	var fromFile Config
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&fromFile); err != nil {
			return c, fmt.Errorf("config file %s: %w", file, err)
		}
		c.File = file
	}
	for _, s := range settings {
		dst := s.field(&c)
		if f := fs.Lookup(s.flag); f != nil && f.Changed {
			*dst = f.Value.String()
		} else if v := getenv(s.env); v != "" {
			*dst = v
		} else if v := *s.field(&fromFile); v != "" {
			*dst = v
		} else {
			*dst = s.def()
		}
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	if c.Database == "" {
		abs, err := filepath.Abs(filepath.Join(c.DataDir, "groundcrew.db"))
		if err != nil {
			return err
		}
		c.Database = "sqlite://" + abs
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("config: --tls-cert and --tls-key go together")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log format %q: want text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log level %q: want debug, info, warn or error", c.LogLevel)
	}
	if _, err := c.CheckRetentionDuration(); err != nil {
		return err
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		return err
	}
	if _, err := c.AlertKeyRateValue(); err != nil {
		return err
	}
	if _, _, err := c.PageThrottleValue(); err != nil {
		return err
	}
	if c.BaseURL == "" {
		scheme := "http"
		if c.TLSCert != "" {
			scheme = "https"
		}
		c.BaseURL = scheme + "://" + c.Listen
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	return nil
}

// defaultConfigDir is examples/ when run from groundcrew's source tree.
func defaultConfigDir() string {
	mod, err := os.ReadFile("go.mod")
	if err != nil || !bytes.Contains(mod, []byte("module groundcrew.dev/groundcrew")) {
		return ""
	}
	if st, err := os.Stat("examples"); err == nil && st.IsDir() {
		return "examples"
	}
	return ""
}

// CheckRetentionDuration parses CheckRetention ("14d", "72h"; "" is 14 days).
func (c *Config) CheckRetentionDuration() (time.Duration, error) {
	s := c.CheckRetention
	if s == "" {
		return 14 * 24 * time.Hour, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 1 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= time.Hour {
		return d, nil
	}
	return 0, fmt.Errorf("config: check retention %q: want days such as 14d, or a duration of at least 1h", s)
}

// TrustedProxyPrefixes parses TrustedProxies: addresses (a single host)
// or CIDR ranges, comma-separated.
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("config: trusted proxy %q: want an address or a CIDR range such as 10.0.0.0/8", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// PageThrottleValue parses PageThrottle ("" is 1/1m).
func (c *Config) PageThrottleValue() (int, time.Duration, error) {
	if c.PageThrottle == "" {
		return 1, time.Minute, nil
	}
	bad := fmt.Errorf("config: page throttle %q: want MESSAGES/WINDOW such as 3/5m (1-100 messages, a window of 1m to 24h)", c.PageThrottle)
	n, w, ok := strings.Cut(c.PageThrottle, "/")
	if !ok {
		return 0, 0, bad
	}
	msgs, err := strconv.Atoi(n)
	if err != nil || msgs < 1 || msgs > 100 {
		return 0, 0, bad
	}
	window, err := time.ParseDuration(w)
	if err != nil || window < time.Minute || window > 24*time.Hour {
		return 0, 0, bad
	}
	return msgs, window, nil
}

// AlertKeyRateValue parses AlertKeyRate ("" is 50).
func (c *Config) AlertKeyRateValue() (float64, error) {
	if c.AlertKeyRate == "" {
		return 50, nil
	}
	v, err := strconv.ParseFloat(c.AlertKeyRate, 64)
	if err != nil || v < 1 || v > 100000 {
		return 0, fmt.Errorf("config: alert key rate %q: want requests per second, 1 to 100000", c.AlertKeyRate)
	}
	return v, nil
}
