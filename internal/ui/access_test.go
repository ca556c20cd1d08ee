package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/check/probe"
	"groundcrew.dev/groundcrew/internal/identity"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	h.addUser("vera", identity.RoleViewer)

	t.Run("forbidden for a viewer", func(t *testing.T) {
		c := h.loggedIn("vera", adminPassword)
		p := c.get("/audit")
		wantStatus(t, p, http.StatusForbidden)
		wantContains(t, p, "Not allowed", "role viewer may not read-audit")
		home := c.get("/")
		wantLacks(t, home, `href="/audit"`)
		svc := c.get("/services/payments-api")
		wantStatus(t, svc, http.StatusOK)
		wantContains(t, svc, "visible to operators and admins")
		wantLacks(t, svc, ">Edit</a>", "Before and after")
	})
	t.Run("admin reads and filters", func(t *testing.T) {
		c := h.loggedIn("admin", adminPassword)
		p := c.get("/audit?kind=service")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<a href="/services/payments-api">payments-api</a>`, `<span class="action action-create">create</span>`,
			"<summary>Before and after</summary>", `<option value="service" selected>`)
		wantLacks(t, p, `<a href="/teams/platform">platform</a>`)
		p = c.get("/audit?actor=vera&action=login")
		wantContains(t, p, "vera", `<span class="action action-login">login</span>`)
		wantLacks(t, p, "action-create")
		p = c.get("/audit?since=yesterday")
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `id="f-since-error"`)
		wantContains(t, c.get("/audit?since=1h"), "payments-api")
		wantContains(t, c.get("/audit?since=2030-01-01"), "No entries match.")
	})
}

func TestTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	p := c.get("/tokens")
	wantStatus(t, p, http.StatusSeeOther)
	p = c.get("/account")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, "You have no API tokens.", `<label for="f-name">Name`)

	p = c.post("/account/tokens", url.Values{"name": {"Bad Name"}, "scope": {"read"}, "expires": {"30d"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `id="f-name-error"`, `value="Bad Name"`)

	p = c.post("/account/tokens", url.Values{"name": {"laptop"}, "scope": {"write"}, "expires": {"30d"}})
	wantStatus(t, p, http.StatusCreated)
	secret := regexp.MustCompile(`gct_[A-Za-z0-9_-]{20,}`).FindString(p.Body)
	if secret == "" {
		t.Fatalf("no secret shown:\n%s", p.Body)
	}
	wantContains(t, p, "it is not shown again", "in 30 days")
	if a, err := h.ids.TokenActor(h.sys, secret, ""); err != nil || a.Name != "admin" || a.Scope != identity.ScopeWrite {
		t.Errorf("TokenActor(shown secret) = %+v, %v", a, err)
	}
	p = c.get("/account")
	wantLacks(t, p, secret)
	wantContains(t, p, `<td class="name">laptop</td>`, "st-active")

	wantStatus(t, c.post("/account/tokens/laptop/revoke", nil), http.StatusSeeOther)
	p = c.get("/account")
	wantContains(t, p, "Token laptop revoked.", `<span class="badge st-revoked">revoked</span>`)
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	p := c.post("/account/password", url.Values{"current_password": {"wrong-password"}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `id="f-current_password-error"`)
	p = c.post("/account/password", url.Values{"current_password": {adminPassword}, "new_password": {"short"}, "confirm_password": {"short"}})
	wantContains(t, p, `id="f-new_password-error"`)
	p = c.post("/account/password", url.Values{"current_password": {adminPassword}, "new_password": {"new-password-1"}, "confirm_password": {"new-password-1"}})
	wantStatus(t, p, http.StatusSeeOther)
	h.client().login("admin", "new-password-1")
}

func TestUsers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	admin := h.loggedIn("admin", adminPassword)
	p := admin.get("/users")
	wantContains(t, p, "Create a user")
	p = admin.post("/users", url.Values{"name": {"Zed"}, "role": {"operator"}, "password": {adminPassword}})
	wantStatus(t, p, http.StatusUnprocessableEntity)
	wantContains(t, p, `id="f-name-error"`, `value="Zed"`)
	p = admin.post("/users", url.Values{"name": {"zed"}, "display_name": {"Zed Ng"}, "role": {"member"}, "password": {adminPassword}})
	wantStatus(t, p, http.StatusSeeOther)
	p = admin.get("/users/zed")
	wantContains(t, p, "User zed created.", "Zed Ng", `<option value="member" selected>`)

	zed := h.loggedIn("zed", adminPassword)
	p = zed.get("/users")
	wantLacks(t, p, "Create a user")
	wantStatus(t, zed.post("/users", url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {adminPassword}}), http.StatusForbidden)
	p = zed.post("/users/zed", url.Values{"role": {"admin"}, "revision": {"1"}})
	wantStatus(t, p, http.StatusForbidden)

	p = admin.post("/users/zed", url.Values{"display_name": {"Zed Ng"}, "role": {"operator"}, "revision": {"1"}})
	wantStatus(t, p, http.StatusSeeOther)
	wantContains(t, admin.get("/users/zed"), `<dd>operator</dd>`)
}

// TestPages_ByRole renders every page for every role: no page may fail;
// the audit log and the forms a role cannot save answer 403.
func TestPages_ByRole(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	roles := map[identity.Role]string{identity.RoleAdmin: "admin"}
	for _, r := range []identity.Role{identity.RoleOperator, identity.RoleMember, identity.RoleViewer} {
		roles[r] = "user-" + string(r)
		h.addUser(roles[r], r)
	}
	h.create(httpCheck("web-health", "postgres-main", "prod", "https://pg.example.com/"))
	h.create(check.Input{Name: "nightly", Spec: check.Spec{Service: "postgres-main", Environment: "prod",
		Interval: probe.Duration(24 * time.Hour), Spec: probe.Spec{Type: check.Heartbeat}}})
	pages := []string{"/", "/services", "/services/new", "/services/payments-api", "/services/payments-api/edit",
		"/teams", "/teams/platform", "/environments", "/environments/prod", "/tools", "/tools/ci", "/users", "/users/admin",
		"/account", "/audit", "/checks", "/checks?status=down", "/checks/web-health", "/checks/nightly"}
	for role, user := range roles {
		t.Run(string(role), func(t *testing.T) {
			c := h.loggedIn(user, adminPassword)
			// Nobody but admin is in a team here: members may write nothing.
			canWrite := role == identity.RoleAdmin || role == identity.RoleOperator
			forbidden := map[string]bool{
				"/audit":                      role != identity.RoleAdmin && role != identity.RoleOperator,
				"/services/new":               !canWrite,
				"/services/payments-api/edit": !canWrite,
			}
			for _, path := range pages {
				p := c.get(path)
				want := http.StatusOK
				if forbidden[path] {
					want = http.StatusForbidden
				}
				wantStatus(t, p, want)
				if want == http.StatusOK && !strings.Contains(p.Body, `<main id="main"`) {
					t.Errorf("%s: no main landmark", path)
				}
			}
			// The check forms: pausing (here a no-op, so that the revision
			// stays) and a new ping URL.
			wantWrite := func(p page, ok int) {
				t.Helper()
				if canWrite {
					wantStatus(t, p, ok)
				} else {
					wantStatus(t, p, http.StatusForbidden)
				}
			}
			wantWrite(c.post("/checks/web-health/pause", url.Values{"revision": {"1"}, "paused": {"false"}}), http.StatusSeeOther)
			wantWrite(c.post("/checks/nightly/ping-url", nil), http.StatusCreated)
		})
	}
}
