package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"groundcrew.dev/groundcrew/internal/catalog"
	"groundcrew.dev/groundcrew/internal/identity"
)

// checkoutForm is a valid new-service form.
func checkoutForm() url.Values {
	return url.Values{
		"name": {"checkout"}, "display_name": {"Checkout web"}, "description": {"Takes the money."},
		"owner": {"payments"}, "tier": {"2"}, "lifecycle": {"production"}, "type": {"website"}, "system": {"shop"},
		"environments": {"prod", "staging"}, "depends_on": {"payments-api, postgres-main"},
		"runbook": {"https://runbooks.example.com/checkout"}, "repository": {"https://git.example.com/checkout"},
		"tags": {"web, pci"}, "labels": {"cost-center=cc-7\nregion = eu"},
	}
}

func TestCreateService(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)

	t.Run("form", func(t *testing.T) {
		p := c.get("/services/new")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<label for="f-name">Name`, `<label for="f-owner">Owner`, `name="environments" value="prod"`,
			`<label for="f-runbook">Runbook URL</label>`, `<label for="f-tags">Tags</label>`)
	})
	t.Run("invalid field is named and input kept", func(t *testing.T) {
		f := checkoutForm()
		f.Set("repository", "ftp://git.example.com/checkout")
		p := c.post("/services/new", f)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p,
			`id="f-repository-error"`, `is not an http(s) URL`,
			`aria-invalid="true" aria-describedby="f-repository-error"`,
			`value="Checkout web"`, `value="ftp://git.example.com/checkout"`, `value="payments-api, postgres-main"`,
			`<option value="payments" selected>`, `value="staging" checked`, "cost-center=cc-7")
		errField := regexp.MustCompile(`id="f-([a-z_]+)-error"`).FindAllStringSubmatch(p.Body, -1)
		if len(errField) != 1 || errField[0][1] != "repository" {
			t.Errorf("error shown next to %v, want only repository", errField)
		}
	})
	t.Run("unknown dependency", func(t *testing.T) {
		f := checkoutForm()
		f.Set("depends_on", "payments-api, nope")
		p := c.post("/services/new", f)
		wantStatus(t, p, http.StatusUnprocessableEntity)
		wantContains(t, p, `id="f-depends_on-error"`, `service &#34;nope&#34; does not exist`)
	})
	t.Run("tier must be a number", func(t *testing.T) {
		f := checkoutForm()
		f.Set("tier", "high")
		wantContains(t, c.post("/services/new", f), `id="f-tier-error"`)
	})
	t.Run("created", func(t *testing.T) {
		p := c.post("/services/new", checkoutForm())
		wantStatus(t, p, http.StatusSeeOther)
		if loc := p.Header.Get("Location"); loc != "/services/checkout" {
			t.Fatalf("Location = %q", loc)
		}
		p = c.get("/services/checkout")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, "Service checkout created.", `<a href="/teams/payments">payments</a>`, "tier 2",
			`<a href="/services/payments-api">payments-api</a>`, `href="https://runbooks.example.com/checkout"`,
			"cost-center", "cc-7", `<span class="action action-create">create</span>`)
		wantContains(t, c.get("/services/checkout"), "<h1>checkout") // the message is shown once
		wantLacks(t, c.get("/services/checkout"), "Service checkout created.")
	})
	t.Run("dependencies both ways", func(t *testing.T) {
		p := c.get("/services/payments-api")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `<dt>Depends on</dt><dd><a href="/services/postgres-main">postgres-main</a></dd>`,
			`<dt>Depended on by</dt><dd><a href="/services/checkout">checkout</a></dd>`)
	})
	t.Run("duplicate", func(t *testing.T) {
		p := c.post("/services/new", checkoutForm())
		wantStatus(t, p, http.StatusConflict)
		wantContains(t, p, "already exists")
	})
}

func TestEditService(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	p := c.get("/services/payments-api/edit")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `name="revision" value="1"`, `value="Payments API"`, `value="postgres-main"`, `value="pci"`)

	f := url.Values{"display_name": {"Payments API v2"}, "owner": {"payments"}, "tier": {"1"}, "lifecycle": {"production"},
		"type": {"service"}, "environments": {"prod"}, "depends_on": {"postgres-main"}, "tags": {"pci"}, "revision": {"1"}}
	wantStatus(t, c.post("/services/payments-api/edit", f), http.StatusSeeOther)
	p = c.get("/services/payments-api")
	wantContains(t, p, "Payments API v2", "Service payments-api saved.", "changed: display_name, environments")

	// The same form again carries revision 1, which is now stale.
	f.Set("display_name", "Payments API v3")
	p = c.post("/services/payments-api/edit", f)
	wantStatus(t, p, http.StatusPreconditionFailed)
	wantContains(t, p, "changed by someone else", `value="Payments API v3"`)
	if s, _ := h.cat.GetService(h.sys, "payments-api"); s.DisplayName != "Payments API v2" {
		t.Errorf("stale form overwrote the service: %q", s.DisplayName)
	}
}

func TestServiceList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	for i := range listLimit {
		h.must(h.cat.CreateService(h.sys, catalog.ServiceInput{Name: fmt.Sprintf("batch-%02d", i), ServiceSpec: catalog.ServiceSpec{
			Owner: "platform", Tier: 3, Lifecycle: "experimental", Tags: []string{"batch"}}}))
	}
	c := h.loggedIn("admin", adminPassword)

	t.Run("search", func(t *testing.T) {
		p := c.get("/services?q=pay")
		wantStatus(t, p, http.StatusOK)
		wantContains(t, p, `href="/services/payments-api"`, `value="pay"`)
		wantLacks(t, p, `href="/services/postgres-main"`, `href="/services/batch-00"`)
	})
	t.Run("filters", func(t *testing.T) {
		p := c.get("/services?owner=platform&lifecycle=production")
		wantContains(t, p, `href="/services/postgres-main"`, `<option value="platform" selected>`, `<option value="production" selected>`)
		wantLacks(t, p, `href="/services/payments-api"`, `href="/services/batch-00"`)
		p = c.get("/services?environment=staging")
		wantContains(t, p, `href="/services/payments-api"`)
		wantLacks(t, p, `href="/services/postgres-main"`)
		p = c.get("/services?tag=pci")
		wantContains(t, p, `href="/services/payments-api"`)
		wantLacks(t, p, `href="/services/postgres-main"`)
		wantContains(t, c.get("/services?q=zzz"), "No services match these filters.")
	})
	t.Run("paging keeps the filters", func(t *testing.T) {
		p := c.get("/services?tag=batch")
		wantContains(t, p, `href="/services/batch-00"`, `href="/services/batch-49"`)
		p = c.get("/services?owner=platform")
		wantContains(t, p, `href="/services/batch-00"`, `href="/services?after=batch-49&amp;owner=platform" rel="next"`)
		wantLacks(t, p, `href="/services/postgres-main"`)
		p = c.get("/services?after=batch-49&owner=platform")
		wantContains(t, p, `href="/services/postgres-main"`, `href="/services?owner=platform">« First page`)
		wantLacks(t, p, `href="/services/batch-49"`, `rel="next"`)
	})
}

func TestServicePages_NotFound(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	c := h.loggedIn("admin", adminPassword)
	for _, path := range []string{"/services/nope", "/services/nope/edit", "/teams/nope", "/environments/nope", "/tools/nope", "/users/nope", "/nope"} {
		p := c.get(path)
		wantStatus(t, p, http.StatusNotFound)
		wantContains(t, p, "Not found")
	}
}

// TestCreateService_Member: a member may create services for their own
// team only; the form offers only that team and the service refuses others.
func TestCreateService_Member(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}).seed()
	h.addUser("bob", "member")
	h.must(h.ids.UpdateTeam(h.sys, "payments", identity.TeamInput{DisplayName: "Payments", Members: []string{"bob"}}, 0))
	c := h.loggedIn("bob", adminPassword)
	p := c.get("/services/new")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<option value="payments">`)
	wantLacks(t, p, `<option value="platform">`)
	wantContains(t, c.get("/services/payments-api"), `href="/services/payments-api/edit"`)
	wantLacks(t, c.get("/services/postgres-main"), `/edit"`)
	wantStatus(t, c.get("/services/postgres-main/edit"), http.StatusForbidden)

	f := checkoutForm()
	f.Set("owner", "platform")
	p = c.post("/services/new", f)
	wantStatus(t, p, http.StatusForbidden)
	wantContains(t, p, "role member may not write-owned", `value="Checkout web"`)
	wantStatus(t, c.post("/services/new", checkoutForm()), http.StatusSeeOther)
}
