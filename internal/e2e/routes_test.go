package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestBrowser_AlertRoutes creates an alert route through the form (after
// a rejected first try with a bad matcher), sees it in the routing tree and
// in the route test, opens a route applied from the configuration directory
// and deletes the new route after confirming.
func TestBrowser_AlertRoutes(t *testing.T) {
	base := startServer(t)
	ctx := browser(t, 60*time.Second)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start browser: %v", err)
	}
	con := watchConsole(ctx)
	b := &tab{t: t, ctx: ctx, base: base}

	// Accept the delete button's confirmation, remembering what it asked.
	var mu sync.Mutex
	var asked []string
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, ev.Message)
			mu.Unlock()
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil {
				return
			}
		}
	}()

	b.login()
	b.run("open the routing page and the new-route form",
		chromedp.Navigate(base+"/alerts/routes"),
		chromedp.WaitVisible(chromedp.CSS(`#route-payments`)),
		loads(chromedp.Click(chromedp.CSS(`a[href="/alerts/routes/new"]`))),
		chromedp.WaitVisible(chromedp.ID("f-name")))
	b.run("fill the form with a bad matcher",
		chromedp.SendKeys(chromedp.ID("f-name"), "checkout"),
		chromedp.SendKeys(chromedp.ID("f-position"), "5"),
		chromedp.SendKeys(chromedp.ID("f-matchers"), "service=\"checkout-web\"\nseverity=~\"(\""),
		chromedp.SendKeys(chromedp.ID("f-group_by"), "alertname, service"),
		chromedp.SendKeys(chromedp.ID("f-group_wait"), "15s"),
		chromedp.Click(chromedp.CSS(`input[name=receivers][value=platform-mail]`)),
		chromedp.SetValue(chromedp.ID("f-team"), "payments"),
		loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.ID("f-matchers-error")))
	if msg := b.text("#f-matchers-error"); !strings.Contains(msg, "line 2") {
		t.Errorf("matcher error says %q", msg)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-group_wait"))); v != "15s" {
		t.Errorf("rejected form lost the group wait: %q", v)
	}
	screenshots(t, ctx, "route-form-error")
	b.run("fix the matcher and create",
		chromedp.SetValue(chromedp.ID("f-matchers"), `service="checkout-web"`),
		loads(chromedp.Click(chromedp.CSS(`button.primary[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`#route-checkout`)))
	if loc := b.location(); loc != "/alerts/routes#route-checkout" {
		t.Errorf("after create at %s", loc)
	}
	if page := b.text("main"); !strings.Contains(page, "Route checkout created.") {
		t.Errorf("routing page after create:\n%s", page)
	}
	if rt := b.text("#route-checkout"); !strings.Contains(rt, `service="checkout-web"`) || !strings.Contains(rt, "platform-mail") ||
		!strings.Contains(rt, "team payments") || !strings.Contains(rt, "wait 15s") {
		t.Errorf("the new route as listed:\n%s", rt)
	}
	screenshots(t, ctx, "routes-edited")

	b.run("test where an alert of checkout-web goes",
		chromedp.SendKeys(chromedp.ID("f-labels"), "alertname=Down, service=checkout-web"),
		loads(chromedp.Click(chromedp.CSS(`#route-test ~ form button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`.route-box`)))
	if res := b.text(".route-box"); !strings.Contains(res, "Route checkout → platform-mail") {
		t.Errorf("route test: %q", res)
	}

	b.run("open the route applied from the configuration directory",
		loads(chromedp.Click(chromedp.CSS(`a[href="/alerts/routes/payments/edit"]`))),
		chromedp.WaitVisible(chromedp.ID("f-matchers")))
	if note := b.text("p.note"); !strings.Contains(note, "every start of the server") {
		t.Errorf("config-dir note: %q", note)
	}
	if v, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("f-routes"))); !strings.Contains(v, "escalation_policy: payments") {
		t.Errorf("nested routes of payments: %q", v)
	}

	b.run("delete the new route",
		chromedp.Navigate(base+"/alerts/routes"),
		chromedp.WaitVisible(chromedp.CSS(`#route-checkout`)),
		loads(chromedp.Click(chromedp.CSS(`form[action="/alerts/routes/checkout/delete"] button`))),
		chromedp.WaitVisible(chromedp.CSS(`#route-payments`)))
	if page := b.text("main"); !strings.Contains(page, "Route checkout deleted.") || strings.Contains(page, "checkout-web") {
		t.Errorf("routing page after delete:\n%s", page)
	}
	mu.Lock()
	if len(asked) != 1 || !strings.HasPrefix(asked[0], "Delete route checkout?") {
		t.Errorf("confirmations asked: %q", asked)
	}
	mu.Unlock()
	if errs := con.Errors(); len(errs) > 0 {
		t.Errorf("browser console errors (CSP violations show here):\n%s", strings.Join(errs, "\n"))
	}
}
