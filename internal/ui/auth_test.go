package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/identity"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.client()

	t.Run("form", func(t *testing.T) {
		p := c.get("/login?next=/services")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<label for="f-user">User name</label>`, `name="next" value="/services"`)
	})
	t.Run("wrong password", func(t *testing.T) {
		p := c.post("/login", url.Values{"user": {"admin"}, "password": {"not-the-password"}})
		wantStatus(t, p, http.StatusUnauthorized)
		wantContains(t, p, "wrong user name or password", `value="admin"`)
		if len(p.Cookies()) != 0 {
			t.Errorf("failed login set cookies: %v", p.Cookies())
		}
	})
	t.Run("success goes on to next", func(t *testing.T) {
		p := c.post("/login", url.Values{"user": {"admin"}, "password": {adminPassword}, "next": {"/services?q=pay"}})
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/services?q=pay" {
			t.Errorf("Location = %q, want /services?q=pay", loc)
		}
		var session *http.Cookie
		for _, ck := range p.Cookies() {
			if ck.Name == identity.SessionCookie {
				session = ck
			}
		}
		if session == nil {
			t.Fatalf("no %s cookie in %v", identity.SessionCookie, p.Header["Set-Cookie"])
		}
		if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || session.Secure {
			t.Errorf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, not Secure on plain HTTP", session)
		}
		home := c.get("/")
		wantStatus(t, home, http.StatusOK)
		wantContains(t, home, "Needs attention", ">admin</a>")
	})
	t.Run("logged in skips the form", func(t *testing.T) {
		p := c.get("/login?next=/teams")
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/teams" {
			t.Errorf("Location = %q, want /teams", loc)
		}
	})
	t.Run("logout", func(t *testing.T) {
		wantStatus(t, c.post("/logout", nil), http.StatusSeeOther)
		wantStatus(t, c.get("/"), http.StatusSeeOther)
	})
}

func TestLogin_SecureCookie(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{SecureCookies: true}).seed()
	p := h.client().post("/login", url.Values{"user": {"admin"}, "password": {adminPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	if sc := p.Header.Get("Set-Cookie"); !strings.Contains(sc, "; Secure") {
		t.Errorf("Set-Cookie = %q, want Secure", sc)
	}
}

func TestLogin_Throttled(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.client()
	for range 5 {
		wantStatus(t, c.post("/login", url.Values{"user": {"admin"}, "password": {"wrong-password"}}), http.StatusUnauthorized)
	}
	p := c.post("/login", url.Values{"user": {"admin"}, "password": {adminPassword}})
	wantStatus(t, p, http.StatusTooManyRequests)
	wantContains(t, p, "too many failed logins")
}

func TestAnonymous(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.client()
	t.Run("pages redirect to login and back", func(t *testing.T) {
		p := c.get("/services?q=pay")
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/login?next="+url.QueryEscape("/services?q=pay") {
			t.Errorf("Location = %q", loc)
		}
		wantStatus(t, c.post("/services/new", url.Values{"name": {"x"}}), http.StatusSeeOther)
	})
	t.Run("a stale cookie is treated as none", func(t *testing.T) {
		u, _ := url.Parse(h.srv.URL)
		c.http.Jar.SetCookies(u, []*http.Cookie{{Name: identity.SessionCookie, Value: "gcs_forged", Path: "/"}})
		wantStatus(t, c.get("/teams"), http.StatusSeeOther)
	})
	t.Run("static files are public", func(t *testing.T) {
		p := c.get("/static/style.css")
		wantStatus(t, p, http.StatusOK)
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
			t.Errorf("Content-Type = %q", ct)
		}
		wantContains(t, p, "prefers-color-scheme: dark")
	})
	t.Run("security headers", func(t *testing.T) {
		p := c.get("/login")
		for k, want := range securityHeaders {
			if got := p.Header.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if !strings.Contains(p.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("CSP does not restrict scripts to self")
		}
	})
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/services?q=x", "/services?q=x"},
		{"/teams/payments", "/teams/payments"},
		{"//evil.example/x", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"services", "/"},
		{"/a\r\nSet-Cookie: x", "/"},
	} {
		if got := localPath(tc.in); got != tc.want {
			t.Errorf("localPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLogin_NoOpenRedirect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	p := h.client().post("/login", url.Values{"user": {"admin"}, "password": {adminPassword}, "next": {"//evil.example/"}})
	wantStatus(t, p, http.StatusSeeOther)
	if loc := p.Header.Get("Location"); loc != "/" {
		t.Errorf("Location = %q, want /", loc)
	}
}

func TestSetup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	secret, err := h.ids.Bootstrap(context.Background(), "")
	if err != nil || secret == "" {
		t.Fatalf("Bootstrap: %q, %v", secret, err)
	}
	c := h.client()
	wantStatus(t, c.get("/setup?token=gcsetup_wrong"), http.StatusForbidden)
	p := c.get("/setup?token=" + url.QueryEscape(secret))
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "New admin password")

	p = c.post("/setup", url.Values{"token": {secret}, "password": {"short"}, "confirm": {"short"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `id="f-password-error"`, "at least 10 characters")

	p = c.post("/setup", url.Values{"token": {secret}, "password": {adminPassword}, "confirm": {adminPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	home := c.get("/")
	wantStatus(t, home, http.StatusOK)
	wantContains(t, home, "Welcome: you are logged in as admin.")

	p = c.get("/setup?token=" + url.QueryEscape(secret))
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "cannot be used")
}
