package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groundcrew.dev/groundcrew/internal/alert"
)

// TestBrowser_Alerts raises an alert through the API, opens it from the
// alert list, silences it from its page (after a preview of what the
// silence mutes) and sees it marked silenced on its page and in the list.
func TestBrowser_Alerts(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}

	api := apiClient(t, base)
	in := alert.RaiseInput{Labels: map[string]string{"alertname": "CartErrors", "service": "payments-api", "severity": "critical"},
		Summary: "Cart errors above 5 %"}
	var raised alert.Alert
	if err := api.Do(context.Background(), http.MethodPost, "/alerts", nil, in, &raised); err != nil {
		t.Fatalf("raise alert: %v", err)
	}

	b.login()
	b.run("open the alert list from the navigation",
		loads(chromedp.Click(chromedp.CSS(`nav a[href="/alerts"]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.alert-list`)))
	if row := b.text("table.alert-list tbody tr"); !strings.Contains(row, "CartErrors") || !strings.Contains(row, "critical") ||
		!strings.Contains(row, "payments-api") || !strings.Contains(row, "firing") {
		t.Errorf("alert row: %q", row)
	}
	screenshots(t, ctx, "alerts")

	b.run("open the alert",
		loads(chromedp.Click(chromedp.CSS(`table.alert-list a.name`))),
		chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)))
	alertPath := b.location()
	if alertPath != "/alerts/"+raised.ID.String() {
		t.Errorf("alert page at %s, want /alerts/%s", alertPath, raised.ID)
	}
	if hist := b.text("ol.timeline"); !strings.Contains(hist, "fired") || !strings.Contains(hist, "user/admin") {
		t.Errorf("history: %q", hist)
	}
	screenshots(t, ctx, "alert")

	b.run("silence it from its page",
		loads(chromedp.Click(chromedp.CSS(`a.button[href^="/silences"]`))),
		chromedp.WaitVisible(chromedp.ID("f-matchers")))
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-matchers"))); !strings.Contains(v, `alertname="CartErrors"`) {
		t.Errorf("silence form matchers: %q", v)
	}
	b.run("preview",
		loads(chromedp.Click(chromedp.CSS(`button[value=preview]`))),
		chromedp.WaitVisible(chromedp.CSS(`.preview`)))
	if pv := b.text(".preview"); !strings.Contains(pv, "It would mute 1 firing alert") || !strings.Contains(pv, "CartErrors") {
		t.Errorf("preview: %q", pv)
	}
	b.run("create",
		chromedp.Clear(chromedp.ID("f-comment")),
		chromedp.SendKeys(chromedp.ID("f-comment"), "deploy rollback in progress"),
		loads(chromedp.Click(chromedp.CSS(`button[value=create]`))),
		chromedp.WaitVisible(chromedp.CSS(`table.silence-list`)))
	if page := b.text("main"); !strings.Contains(page, "Silence created") || !strings.Contains(page, "deploy rollback in progress") {
		t.Errorf("silences page after create:\n%s", page)
	}
	screenshots(t, ctx, "silences")

	b.run("back to the alert", chromedp.Navigate(base+alertPath), chromedp.WaitVisible(chromedp.CSS(`.alert-state`)))
	if state := b.text(".alert-state"); !strings.Contains(state, "silenced") {
		t.Errorf("alert state after silencing: %q", state)
	}
	if where := b.text(".route-box"); !strings.Contains(where, "silenced now") {
		t.Errorf("where it goes, after silencing: %q", where)
	}
	b.run("alert list", chromedp.Navigate(base+"/alerts"), chromedp.WaitVisible(chromedp.CSS(`table.alert-list`)))
	if row := b.text("table.alert-list tbody tr"); !strings.Contains(row, "silenced") {
		t.Errorf("alert row after silencing: %q", row)
	}
	b.run("routing", loads(chromedp.Click(chromedp.CSS(`nav.tabs a[href="/alerts/routes"]`))), chromedp.WaitVisible(chromedp.ID("f-labels")),
		chromedp.SendKeys(chromedp.ID("f-labels"), "alertname=CartErrors\nservice=payments-api\nseverity=critical"),
		loads(chromedp.Click(chromedp.CSS(`#route-test ~ form button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS(`.route-box`)))
	if res := b.text(".route-box"); !strings.Contains(res, "Route ") || !strings.Contains(res, "silenced now") {
		t.Errorf("route test: %q", res)
	}
	screenshots(t, ctx, "routes")
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}
