package statuspage_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"groundcrew.dev/groundcrew/internal/audit"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/db/dbtest"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/statuspage"
)

func auditRows(t *testing.T, d *db.DB, kind string) []audit.Record {
	t.Helper()
	rs, err := audit.List(context.Background(), d.Reader(), audit.Filter{ObjectKind: kind, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestPages_InvalidInputNamesFieldAndWritesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		before := len(auditRows(t, d, ""))
		edit := func(fn func(p *statuspage.PageInput)) statuspage.PageInput {
			p := page("acme")
			p.Components = slices.Clone(p.Components)
			fn(&p)
			return p
		}
		for _, tc := range []struct {
			name  string
			in    statuspage.PageInput
			field string
		}{
			{"bad slug", edit(func(p *statuspage.PageInput) { p.Name = "Acme Status" }), "name"},
			{"slug with a slash", edit(func(p *statuspage.PageInput) { p.Name = "a/b" }), "name"},
			{"no title", edit(func(p *statuspage.PageInput) { p.Title = "" }), "title"},
			{"two-line title", edit(func(p *statuspage.PageInput) { p.Title = "a\nb" }), "title"},
			{"long logo text", edit(func(p *statuspage.PageInput) { p.LogoText = strings.Repeat("x", 41) }), "logo_text"},
			{"no components", edit(func(p *statuspage.PageInput) { p.Components = nil }), "components"},
			{"bad component name", edit(func(p *statuspage.PageInput) { p.Components[1].Name = "Data Base" }), "components[1].name"},
			{"duplicate component", edit(func(p *statuspage.PageInput) { p.Components[1].Name = "api" }), "components[1].name"},
			{"component without services", edit(func(p *statuspage.PageInput) { p.Components[0].Services = nil }), "components[0].services"},
			{"unknown service", edit(func(p *statuspage.PageInput) { p.Components[0].Services = []string{"web", "ghost"} }), "components[0].services[1]"},
			{"unknown check", edit(func(p *statuspage.PageInput) { p.Components[1].Checks = []string{"nope"} }), "components[1].checks[0]"},
			{"check of another service", edit(func(p *statuspage.PageInput) { p.Components[1].Checks = []string{"db-port", "api-http"} }), "components[1].checks[1]"},
			{"bad label", edit(func(p *statuspage.PageInput) { p.Labels = map[string]string{"Bad Key": "x"} }), "labels.Bad Key"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.CreatePage(f.olga, tc.in)
				if !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
					t.Fatalf("CreatePage = %v (field %q), want invalid %s", err, errs.FieldOf(err), tc.field)
				}
			})
		}
		if _, err := f.svc.GetPage(f.sys, "acme"); !errs.Is(err, errs.NotFound) {
			t.Errorf("a rejected page exists: %v", err)
		}
		if after := len(auditRows(t, d, "")); after != before {
			t.Errorf("rejected pages wrote %d audit rows", after-before)
		}
	})
}

func TestPages_OnlyOperatorsManage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		if _, err := f.svc.CreatePage(f.olga, page("acme")); err != nil {
			t.Fatalf("operator creates a page: %v", err)
		}
		if _, err := f.svc.CreateNotice(f.olga, "acme", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "Errors", Message: "Looking."}); err != nil {
			t.Fatalf("operator posts a notice: %v", err)
		}
		for _, who := range []struct {
			name string
			ctx  context.Context
			want errs.Code
		}{{"member", f.bob, errs.Forbidden}, {"viewer", f.vera, errs.Forbidden}, {"anonymous", f.anon, errs.Unauthorized}} {
			t.Run(who.name, func(t *testing.T) {
				ops := map[string]error{}
				_, ops["create page"] = f.svc.CreatePage(who.ctx, page("other"))
				_, ops["update page"] = f.svc.UpdatePage(who.ctx, "acme", page("acme"), 0)
				ops["delete page"] = f.svc.DeletePage(who.ctx, "acme", 0)
				_, ops["create notice"] = f.svc.CreateNotice(who.ctx, "acme", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "x", Message: "x"})
				_, ops["post update"] = f.svc.PostUpdate(who.ctx, "acme", 1, statuspage.UpdateInput{Message: "x"})
				_, ops["resolve"] = f.svc.Resolve(who.ctx, "acme", 1, "")
				ops["delete notice"] = f.svc.DeleteNotice(who.ctx, "acme", 1)
				for op, err := range ops {
					if !errs.Is(err, who.want) {
						t.Errorf("%s as %s = %v, want %s", op, who.name, err, who.want)
					}
				}
				// Everyone with an account reads.
				if who.name != "anonymous" {
					if _, err := f.svc.GetPage(who.ctx, "acme"); err != nil {
						t.Errorf("get page as %s: %v", who.name, err)
					}
					if ns, err := f.svc.ListNotices(who.ctx, "acme", statuspage.NoticeFilter{}); err != nil || len(ns) != 1 {
						t.Errorf("list notices as %s = %d, %v", who.name, len(ns), err)
					}
				}
			})
		}
		if n, err := f.svc.GetNotice(f.sys, "acme", 1); err != nil || n.Status != statuspage.Investigating || len(n.Updates) != 1 {
			t.Errorf("the notice changed: %+v, %v", n, err)
		}
	})
}

func TestPages_RevisionsAndAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		in := page("acme")
		in.Components[0].Services = []string{"web", "api", "web"} // normalized: sorted, no duplicates
		p, err := f.svc.CreatePage(f.olga, in)
		if err != nil {
			t.Fatal(err)
		}
		if p.Revision != 1 || !slices.Equal(p.Components[0].Services, []string{"api", "web"}) {
			t.Errorf("created %+v", p)
		}
		if _, err := f.svc.CreatePage(f.olga, page("acme")); !errs.Is(err, errs.Conflict) {
			t.Errorf("create twice = %v, want conflict", err)
		}
		same, err := f.svc.UpdatePage(f.olga, "acme", in, 1)
		if err != nil || same.Revision != 1 {
			t.Errorf("unchanged update = revision %d, %v", same.Revision, err)
		}
		in.Title = "Acme Inc. status"
		if _, err := f.svc.UpdatePage(f.olga, "acme", in, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdatePage(f.olga, "acme", in, 1); !errs.Is(err, errs.Precondition) {
			t.Errorf("update with a stale revision = %v, want precondition", err)
		}
		if err := f.svc.DeletePage(f.olga, "acme", 2); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range auditRows(t, d, "status-page") {
			actions = append(actions, r.Action+" "+r.ObjectName+" by "+r.ActorName)
		}
		want := []string{"delete acme by olga", "update acme by olga", "create acme by olga"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit = %q, want %q", actions, want)
		}
	})
}

func TestNotices_Lifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := setup(t, d)
		f.must(f.svc.CreatePage(f.olga, page("acme")))
		inc, err := f.svc.CreateNotice(f.olga, "acme", statuspage.NoticeInput{
			Kind: statuspage.Incident, Title: "Elevated errors", Components: []string{"api"}, Message: "We are looking into it.", Ref: "INC-42",
		})
		if err != nil {
			t.Fatal(err)
		}
		if inc.Number != 1 || inc.Status != statuspage.Investigating || !inc.StartsAt.Equal(start) || !inc.Open() || inc.Updates[0].Author != "olga" {
			t.Errorf("created %+v", inc)
		}
		f.clk.Advance(10 * time.Minute)
		n, err := f.svc.PostUpdate(f.olga, "acme", 1, statuspage.UpdateInput{Status: statuspage.Identified, Message: "A bad deploy; rolling back."})
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != statuspage.Identified || len(n.Updates) != 2 || n.Updates[0].Status != statuspage.Identified {
			t.Errorf("after update: %+v", n)
		}
		// Fixing a typo changes the notice without a timeline entry.
		n, err = f.svc.PostUpdate(f.olga, "acme", 1, statuspage.UpdateInput{Title: "Elevated API errors"})
		if err != nil || n.Title != "Elevated API errors" || len(n.Updates) != 2 {
			t.Errorf("edit title = %+v, %v", n, err)
		}
		for _, tc := range []struct {
			name  string
			in    statuspage.UpdateInput
			field string
		}{
			{"nothing", statuspage.UpdateInput{}, "message"},
			{"status without a message", statuspage.UpdateInput{Status: statuspage.Monitoring}, "message"},
			{"maintenance status", statuspage.UpdateInput{Status: statuspage.Completed, Message: "x"}, "status"},
			{"unknown component", statuspage.UpdateInput{Components: []string{"api", "cdn"}, Message: "x"}, "components[1]"},
			{"window on an incident", statuspage.UpdateInput{EndsAt: &start, Message: "x"}, "ends_at"},
		} {
			if _, err := f.svc.PostUpdate(f.olga, "acme", 1, tc.in); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("%s: %v (field %q), want invalid %s", tc.name, err, errs.FieldOf(err), tc.field)
			}
		}
		f.clk.Advance(time.Hour)
		n, err = f.svc.Resolve(f.olga, "acme", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		if n.Status != statuspage.Resolved || n.ClosedAt == nil || !n.ClosedAt.Equal(f.clk.Now()) || n.Updates[0].Message != "This incident has been resolved." {
			t.Errorf("resolved: %+v", n)
		}
		if _, err := f.svc.Resolve(f.olga, "acme", 1, ""); !errs.Is(err, errs.Conflict) {
			t.Errorf("resolve twice = %v, want conflict", err)
		}
		// A postmortem note after resolution keeps it resolved.
		if n, err = f.svc.PostUpdate(f.olga, "acme", 1, statuspage.UpdateInput{Message: "The postmortem is published."}); err != nil || n.Open() {
			t.Errorf("note after resolution: open %v, %v", n.Open(), err)
		}

		for _, tc := range []struct {
			name  string
			in    statuspage.NoticeInput
			field string
		}{
			{"no kind", statuspage.NoticeInput{Title: "x", Message: "x"}, "kind"},
			{"no title", statuspage.NoticeInput{Kind: statuspage.Incident, Message: "x"}, "title"},
			{"no message", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "x", Message: "  "}, "message"},
			{"incident status on maintenance", statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "x", Message: "x", Status: statuspage.Identified}, "status"},
			{"maintenance without start", statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "x", Message: "x"}, "starts_at"},
			{"maintenance ending before it starts", statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "x", Message: "x", StartsAt: ptr(start.Add(time.Hour)), EndsAt: ptr(start)}, "ends_at"},
			{"unknown component", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "x", Message: "x", Components: []string{"cdn"}}, "components[0]"},
		} {
			if _, err := f.svc.CreateNotice(f.olga, "acme", tc.in); !errs.Is(err, errs.Invalid) || errs.FieldOf(err) != tc.field {
				t.Errorf("%s: %v (field %q), want invalid %s", tc.name, err, errs.FieldOf(err), tc.field)
			}
		}
		m, err := f.svc.CreateNotice(f.olga, "acme", statuspage.NoticeInput{Kind: statuspage.Maintenance, Title: "Database upgrade",
			Components: []string{"database"}, StartsAt: ptr(start.Add(24 * time.Hour)), EndsAt: ptr(start.Add(26 * time.Hour)), Message: "PostgreSQL 18."})
		if err != nil {
			t.Fatal(err)
		}
		if m.Number != 2 || m.Status != statuspage.Scheduled {
			t.Errorf("maintenance %+v", m)
		}
		open, err := f.svc.ListNotices(f.vera, "acme", statuspage.NoticeFilter{Open: true})
		if err != nil || len(open) != 1 || open[0].Number != 2 {
			t.Errorf("open notices = %+v, %v", open, err)
		}
		byRef, err := f.svc.ListNotices(f.vera, "acme", statuspage.NoticeFilter{Ref: "INC-42"})
		if err != nil || len(byRef) != 1 || byRef[0].Number != 1 || len(byRef[0].Updates) != 4 {
			t.Errorf("notices of INC-42 = %+v, %v", byRef, err)
		}
		if err := f.svc.DeleteNotice(f.olga, "acme", 2); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.GetNotice(f.vera, "acme", 2); !errs.Is(err, errs.NotFound) {
			t.Errorf("deleted notice: %v", err)
		}
		var actions []string
		for _, r := range auditRows(t, d, "status-notice") {
			actions = append(actions, r.Action+" "+r.ObjectName)
		}
		want := []string{"delete acme#2", "create acme#2", "post-update acme#1", "close acme#1", "edit acme#1", "post-update acme#1", "create acme#1"}
		if !slices.Equal(actions, want) {
			t.Errorf("audit = %q, want %q", actions, want)
		}
		// Numbers are never reused.
		n3, err := f.svc.CreateNotice(f.olga, "acme", statuspage.NoticeInput{Kind: statuspage.Incident, Title: "x", Message: "x"})
		if err != nil || n3.Number != 3 {
			t.Errorf("next notice = %d, %v", n3.Number, err)
		}
		// Deleting the page deletes its notices.
		f.noErr(f.svc.DeletePage(f.olga, "acme", 0))
		f.must(f.svc.CreatePage(f.olga, page("acme")))
		if ns, err := f.svc.ListNotices(f.vera, "acme", statuspage.NoticeFilter{}); err != nil || len(ns) != 0 {
			t.Errorf("notices of a re-created page = %d, %v", len(ns), err)
		}
	})
}

func ptr[T any](v T) *T { return &v }
