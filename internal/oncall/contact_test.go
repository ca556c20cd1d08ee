package oncall_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

const secretHook = "https://hooks.slack.com/services/T000/B000/s3cr3tXYZ"

func TestContactMethods(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ctx := context.Background()
		ben := f.as(t, "ben")

		m, err := f.svc.AddContactMethod(ben, oncall.ContactMethodInput{User: "ben", Name: "slack", Type: "slack", Address: secretHook})
		if err != nil {
			t.Fatal(err)
		}
		if m.Address != "https://hooks.slack.com/…" || m.User != "ben" {
			t.Errorf("added %+v", m)
		}
		if _, err := f.svc.AddContactMethod(ben, oncall.ContactMethodInput{User: "ben", Name: "mail", Type: "email", Address: "ben@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AddContactMethod(ben, oncall.ContactMethodInput{User: "ben", Name: "mail", Type: "email", Address: "b@example.com"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("duplicate name: %v", err)
		}
		ms, err := f.svc.ListContactMethods(ben, "ben")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || ms[0].Name != "mail" || ms[0].Address != "ben@example.com" || ms[1].Name != "slack" || ms[1].Address != "https://hooks.slack.com/…" {
			t.Errorf("list %+v", ms)
		}
		raw, _ := json.Marshal(ms)
		if strings.Contains(string(raw), "s3cr3t") {
			t.Errorf("the webhook URL leaks: %s", raw)
		}

		// Rules: replaced as a whole; the plan is by delay.
		plan, err := f.svc.SetNotificationRules(ben, "ben", []oncall.RuleInput{{Method: "mail", DelayMinutes: 5}, {Method: "slack"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != 2 || plan[0].Method.Name != "slack" || plan[0].DelayMinutes != 0 || plan[1].Method.Name != "mail" || plan[1].DelayMinutes != 5 {
			t.Errorf("plan %+v", plan)
		}
		// A bad rule stores nothing: the old rules stay.
		_, err = f.svc.SetNotificationRules(ben, "ben", []oncall.RuleInput{{Method: "mail", DelayMinutes: 1}, {Method: "pager"}})
		if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != "rules[1].method" {
			t.Errorf("unknown method: %v", err)
		}
		if got, err := f.svc.NotificationPlan(ben, "ben"); err != nil || len(got) != 2 || got[1].DelayMinutes != 5 {
			t.Errorf("after a failed replace: %+v, %v", got, err)
		}
		// Deleting a method drops its rules.
		if err := f.svc.DeleteContactMethod(ben, "ben", "slack"); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteContactMethod(ben, "ben", "slack"); !errs.Is(err, errs.NotFound) {
			t.Errorf("second delete: %v", err)
		}
		if got, err := f.svc.NotificationPlan(ben, "ben"); err != nil || len(got) != 1 || got[0].Method.Name != "mail" {
			t.Errorf("after deleting slack: %+v, %v", got, err)
		}

		// Every change is audited, never with the secret.
		es, err := audit.List(ctx, d.Reader(), audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for _, e := range es {
			if strings.HasPrefix(e.ObjectKind, "contact-method") || e.ObjectKind == "notification-rules" {
				n++
			}
			raw, _ := json.Marshal(e)
			if strings.Contains(string(raw), "s3cr3t") {
				t.Errorf("the audit log keeps the webhook URL: %s", raw)
			}
		}
		if n != 4 {
			t.Errorf("%d contact audit entries, want 4 (2 adds, 1 rule set, 1 delete)", n)
		}
	})
}

func TestContactMethodAuthorization(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		if _, err := f.ids.CreateUser(f.sys, identity.UserInput{Name: "adam", Role: identity.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		mail := func(user string) oncall.ContactMethodInput {
			return oncall.ContactMethodInput{User: user, Name: "mail", Type: "email", Address: user + "@example.com"}
		}
		// A viewer manages their own.
		vera := f.as(t, "vera")
		if _, err := f.svc.AddContactMethod(vera, mail("vera")); err != nil {
			t.Fatalf("viewer, own: %v", err)
		}
		if _, err := f.svc.SetNotificationRules(vera, "vera", []oncall.RuleInput{{Method: "mail"}}); err != nil {
			t.Errorf("viewer, own rules: %v", err)
		}
		// A member or operator cannot touch another's, nor see them.
		for _, who := range []string{"mallory", "olga"} {
			ctx := f.as(t, who)
			if _, err := f.svc.AddContactMethod(ctx, mail("vera")); !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s adds to vera: %v", who, err)
			}
			if err := f.svc.DeleteContactMethod(ctx, "vera", "mail"); !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s deletes vera's: %v", who, err)
			}
			if _, err := f.svc.SetNotificationRules(ctx, "vera", nil); !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s sets vera's rules: %v", who, err)
			}
			if _, err := f.svc.ListContactMethods(ctx, "vera"); !errs.Is(err, errs.Forbidden) {
				t.Errorf("%s lists vera's: %v", who, err)
			}
		}
		// A read-only token cannot change even its own.
		u, _ := f.ids.GetUser(f.sys, "ben")
		ro := identity.WithActor(context.Background(), &identity.Actor{UserID: u.ID, Name: "ben", Role: identity.RoleMember, Scope: identity.ScopeRead, Via: "token"})
		if _, err := f.svc.AddContactMethod(ro, mail("ben")); !errs.Is(err, errs.Forbidden) {
			t.Errorf("read-only token: %v", err)
		}
		if _, err := f.svc.ListContactMethods(ro, "ben"); err != nil {
			t.Errorf("read-only token lists own: %v", err)
		}
		if _, err := f.svc.ListContactMethods(context.Background(), "ben"); !errs.Is(err, errs.Unauthorized) {
			t.Errorf("anonymous: %v", err)
		}
		// An admin manages anyone's.
		adam := f.as(t, "adam")
		if _, err := f.svc.AddContactMethod(adam, oncall.ContactMethodInput{User: "vera", Name: "hook", Type: "webhook", Address: "http://127.0.0.1:9/x"}); err != nil {
			t.Errorf("admin adds to vera: %v", err)
		}
		if ms, err := f.svc.ListContactMethods(adam, "vera"); err != nil || len(ms) != 2 || ms[0].Address != "http://127.0.0.1:9/…" {
			t.Errorf("admin lists vera's: %+v, %v", ms, err)
		}
		if err := f.svc.DeleteContactMethod(adam, "vera", "mail"); err != nil {
			t.Errorf("admin deletes vera's: %v", err)
		}
		if _, err := f.svc.AddContactMethod(adam, mail("nobody")); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown user: %v", err)
		}
		// A person's methods and rules go with them.
		if _, err := f.svc.SetNotificationRules(adam, "vera", []oncall.RuleInput{{Method: "hook", DelayMinutes: 2}}); err != nil {
			t.Fatal(err)
		}
		if err := f.ids.DeleteUser(f.sys, "vera"); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"oncall_contact_methods", "oncall_notification_rules"} {
			var n int
			if err := d.Reader().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
				t.Errorf("%s keeps %d rows after the user was deleted (%v)", table, n, err)
			}
		}
	})
}

func TestContactMethodValidation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		ben := f.as(t, "ben")
		for _, tc := range []struct {
			in    oncall.ContactMethodInput
			field string
		}{
			{oncall.ContactMethodInput{Name: "Bad Name", Type: "email", Address: "a@example.com"}, "name"},
			{oncall.ContactMethodInput{Name: "x", Type: "sms", Address: "+4912345"}, "type"},
			{oncall.ContactMethodInput{Name: "x", Type: "email", Address: "not an address"}, "address"},
			{oncall.ContactMethodInput{Name: "x", Type: "email", Address: "Ben <ben@example.com>"}, "address"},
			{oncall.ContactMethodInput{Name: "x", Type: "slack", Address: "http://hooks.slack.com/x"}, "address"},
			{oncall.ContactMethodInput{Name: "x", Type: "webhook", Address: "ftp://example.com/x"}, "address"},
			{oncall.ContactMethodInput{Name: "x", Type: "webhook", Address: "https://u:p@example.com/x"}, "address"},
			{oncall.ContactMethodInput{Name: "x", Type: "webhook", Address: "/relative"}, "address"},
		} {
			tc.in.User = "ben"
			_, err := f.svc.AddContactMethod(ben, tc.in)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("%+v: %v, want Invalid naming %s", tc.in, err, tc.field)
			}
		}
		for i := range oncall.MaxContactMethods {
			if _, err := f.svc.AddContactMethod(ben, oncall.ContactMethodInput{User: "ben", Name: fmt.Sprintf("m%d", i), Type: "email", Address: "ben@example.com"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.AddContactMethod(ben, oncall.ContactMethodInput{User: "ben", Name: "one-more", Type: "email", Address: "ben@example.com"}); !errs.Is(err, errs.Invalid) {
			t.Errorf("method %d: %v", oncall.MaxContactMethods+1, err)
		}
		for _, tc := range []struct {
			rules []oncall.RuleInput
			field string
		}{
			{[]oncall.RuleInput{{Method: "m0", DelayMinutes: 61}}, "rules[0].delay_minutes"},
			{[]oncall.RuleInput{{Method: "m0"}, {Method: "m1", DelayMinutes: -1}}, "rules[1].delay_minutes"},
			{[]oncall.RuleInput{{Method: ""}}, "rules[0].method"},
			{[]oncall.RuleInput{{Method: "m0"}, {Method: "m0"}}, "rules[1]"},
			{make([]oncall.RuleInput, oncall.MaxNotificationRules+1), "rules"},
		} {
			_, err := f.svc.SetNotificationRules(ben, "ben", tc.rules)
			if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("%+v: %v, want Invalid naming %s", tc.rules, err, tc.field)
			}
		}
		rules := make([]oncall.RuleInput, 0, oncall.MaxNotificationRules)
		for i := range oncall.MaxNotificationRules {
			rules = append(rules, oncall.RuleInput{Method: fmt.Sprintf("m%d", i%oncall.MaxContactMethods), DelayMinutes: i})
		}
		if plan, err := f.svc.SetNotificationRules(ben, "ben", rules); err != nil || len(plan) != oncall.MaxNotificationRules {
			t.Errorf("%d rules: %d, %v", len(rules), len(plan), err)
		}
	})
}
