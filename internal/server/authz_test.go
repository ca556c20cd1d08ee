package server_test

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// roles the authorization table covers: the four roles, an operator's
// read-only token, and nobody.
var roles = []string{"admin", "operator", "member", "viewer", "readtoken", "anonymous"}

// route describes how to call one API operation as a role, and which roles
// may. Names carry the role so that each call has its own objects.
type route struct {
	method, path string // path with %s for the role
	body         func(role string) any
	allowed      []string // roles that get a 2xx; anonymous gets 401, others 403
}

var (
	everyone  = []string{"admin", "operator", "member", "viewer", "readtoken"}
	writers   = []string{"admin", "operator", "member"} // on objects owned by the member's team
	operators = []string{"admin", "operator"}
	auditors  = []string{"admin", "operator", "readtoken"}
	admins    = []string{"admin"}
	public    = append(slices.Clone(everyone), "anonymous")
)

func checkBody(name string) map[string]any {
	b := map[string]any{"service": "chk", "environment": "shared", "type": "heartbeat", "interval": "1m"}
	if name != "" {
		b["name"] = name
	}
	return b
}

func routeBody(name string) map[string]any {
	b := map[string]any{"spec": map[string]any{"matchers": []string{`service="chk"`}, "group_wait": "10s"}}
	if name != "" {
		b["name"] = name
	}
	return b
}

func silenceBody() any {
	return map[string]any{"matchers": []string{`service="chk"`}, "ends_at": time.Now().Add(time.Hour), "comment": "deploying"}
}

// silenceIDs are the ids of the silences made for each role.
var silenceIDs = map[string]string{}

// pageIDs are the ids of the pages opened for each role.
var pageIDs = map[string]string{}

// incidentNumbers and actionItemIDs are those of the incident (and its
// action item) declared for each role.
var incidentNumbers, actionItemIDs = map[string]string{}, map[string]string{}

func svcBody(name string) any {
	return map[string]any{"name": name, "owner": "payments", "tier": 2}
}

func pageBody(name string) map[string]any {
	b := map[string]any{"title": "Status", "components": []any{map[string]any{"name": "api", "services": []string{"chk"}}}}
	if name != "" {
		b["name"] = name
	}
	return b
}

func noticeBody() any {
	return map[string]any{"kind": "incident", "title": "Slow", "message": "Looking into it.", "components": []string{"api"}}
}

func windowBody(name string, services ...string) map[string]any {
	b := map[string]any{"services": services, "recurrence": map[string]any{"time_zone": "Europe/Berlin", "days": []string{"sat"}, "at": "02:00", "duration": "2h"}}
	if name != "" {
		b["name"] = name
	}
	return b
}

func alertBody(dedupKey string) any {
	return map[string]any{"labels": map[string]string{"alertname": "Manual"}, "dedup_key": dedupKey, "service": "chk", "summary": "raised by hand"}
}

// receiverBody is a receiver of the payments team with a webhook to a
// loopback port nothing listens on (test deliveries fail there, quietly).
func receiverBody(name string) map[string]any {
	b := map[string]any{"owner": "payments", "channels": []any{map[string]any{"webhook": map[string]any{"url": "http://127.0.0.1:9/hook"}}}}
	if name != "" {
		b["name"] = name
	}
	return b
}

// scheduleBody is a weekly schedule of the payments team with bob.
func scheduleBody(name string) map[string]any {
	b := map[string]any{"spec": map[string]any{"owner": "payments", "time_zone": "Europe/Berlin", "layers": []any{
		map[string]any{"rotation": map[string]any{"kind": "weekly", "start": "2026-01-05", "participants": []string{"bob"}}}}}}
	if name != "" {
		b["name"] = name
	}
	return b
}

// policyBody is an escalation policy of the payments team paging bob.
func policyBody(name string) map[string]any {
	b := map[string]any{"spec": map[string]any{"owner": "payments", "steps": []any{
		map[string]any{"delay": "5m", "targets": []any{map[string]any{"user": "bob"}}}}}}
	if name != "" {
		b["name"] = name
	}
	return b
}

// contactBody is a webhook contact method on a loopback port.
func contactBody(name string) any {
	return map[string]any{"name": name, "type": "webhook", "address": "http://127.0.0.1:9/secret-hook"}
}

// swapIDs are the ids of the swaps requested for each role: one to
// accept, one to decline (asked of the role's user) and one to cancel
// (requested by the role's user), in schedule sw-<role>.
var swapIDs = map[string]string{}

// swapSelf is the user of each role, on call in sw-<role> with swp.
var swapSelf = map[string]string{"admin": "admin", "operator": "olga", "member": "bob", "viewer": "vera", "readtoken": "rita", "anonymous": "vera"}

// swapScheduleBody is a schedule of the payments team with swp always on
// call and self too for the next three days.
func swapScheduleBody(name, self string) any {
	now := time.Now().UTC()
	return map[string]any{"name": name, "spec": map[string]any{"owner": "payments", "time_zone": "Europe/Berlin", "layers": []any{
		map[string]any{"rotation": map[string]any{"kind": "weekly", "start": "2026-01-05", "participants": []string{"swp"}}}},
		"overrides": []any{map[string]any{"kind": "add", "user": self, "start": now.Add(-time.Hour), "end": now.Add(72 * time.Hour)}}}}
}

// swapBody asks counterpart to cover requester for an hour, in hours.
func swapBody(requester, counterpart string, hours int) any {
	start := time.Now().UTC().Add(time.Duration(hours) * time.Hour)
	return map[string]any{"requester": requester, "counterpart": counterpart, "start": start, "end": start.Add(time.Hour)}
}

func integrationBody(name string) any {
	return map[string]any{"name": name, "type": "webhook", "service": "chk"}
}

var routes = []route{
	{"POST", "/auth/token", func(r string) any {
		return map[string]any{"user": "admin", "password": adminPassword, "token_name": "login-" + r}
	}, public},
	{"GET", "/whoami", nil, everyone},
	{"GET", "/tokens", nil, everyone},
	{"POST", "/tokens", func(r string) any { return map[string]any{"name": "new-" + r} }, []string{"admin", "operator", "member", "viewer"}},
	{"DELETE", "/tokens/tok-%s", nil, []string{"admin", "operator", "member", "viewer"}},

	{"GET", "/users", nil, everyone},
	{"GET", "/users/u-%s", nil, everyone},
	{"POST", "/users", func(r string) any { return map[string]any{"name": "new-" + r, "role": "viewer"} }, admins},
	{"PUT", "/users/u-%s", func(r string) any { return map[string]any{"role": "member"} }, admins},
	{"DELETE", "/users/u-%s", nil, admins},

	{"GET", "/teams", nil, everyone},
	{"GET", "/teams/tm-%s", nil, everyone},
	{"POST", "/teams", func(r string) any { return map[string]any{"name": "new-" + r} }, operators},
	{"PUT", "/teams/tm-%s", func(r string) any { return map[string]any{"members": []string{"bob"}, "chat": "#x"} }, writers},
	{"DELETE", "/teams/tm-%s", nil, operators},

	{"GET", "/environments", nil, everyone},
	{"GET", "/environments/e-%s", nil, everyone},
	{"POST", "/environments", func(r string) any { return map[string]any{"name": "new-" + r, "criticality": "low"} }, operators},
	{"PUT", "/environments/e-%s", func(r string) any { return map[string]any{"criticality": "high"} }, operators},
	{"DELETE", "/environments/e-%s", nil, operators},

	{"GET", "/services", nil, everyone},
	{"GET", "/services/s-%s", nil, everyone},
	{"POST", "/services", func(r string) any { return svcBody("new-" + r) }, writers},
	{"PUT", "/services/s-%s", func(r string) any { return map[string]any{"owner": "payments", "tier": 1} }, writers},
	{"DELETE", "/services/s-%s", nil, writers},

	{"GET", "/tools", nil, everyone},
	{"GET", "/tools/t-%s", nil, everyone},
	{"POST", "/tools", func(r string) any { return map[string]any{"name": "new-" + r, "type": "ci", "owner": "payments"} }, writers},
	{"PUT", "/tools/t-%s", func(r string) any { return map[string]any{"type": "git", "owner": "payments"} }, writers},
	{"DELETE", "/tools/t-%s", nil, writers},

	{"GET", "/checks", nil, everyone},
	{"GET", "/checks/c-%s", nil, everyone},
	{"GET", "/checks/c-%s/results", nil, everyone},
	{"GET", "/checks/c-%s/events", nil, everyone},
	{"GET", "/checks/c-%s/uptime", nil, everyone},
	{"GET", "/checks/c-%s/days", nil, everyone},
	{"POST", "/checks", func(r string) any { return checkBody("new-c-" + r) }, writers},
	{"PUT", "/checks/c-%s", func(r string) any { return checkBody("") }, writers},
	{"POST", "/checks/c-%s/ping-secret", nil, writers},
	{"DELETE", "/checks/c-%s", nil, writers},

	{"GET", "/status-pages", nil, everyone},
	{"GET", "/status-pages/sp-%s", nil, everyone},
	{"POST", "/status-pages", func(r string) any { return pageBody("new-sp-" + r) }, operators},
	{"PUT", "/status-pages/sp-%s", func(r string) any { return pageBody("") }, operators},
	{"GET", "/status-pages/sp-%s/notices", nil, everyone},
	{"GET", "/status-pages/sp-%s/notices/1", nil, everyone},
	{"POST", "/status-pages/sp-%s/notices", func(r string) any { return noticeBody() }, operators},
	{"POST", "/status-pages/sp-%s/notices/1/updates", func(r string) any { return map[string]any{"status": "identified", "message": "Found it."} }, operators},
	{"POST", "/status-pages/sp-%s/notices/1/resolve", nil, operators},
	{"DELETE", "/status-pages/sp-%s/notices/1", nil, operators},
	{"DELETE", "/status-pages/sp-%s", nil, operators},

	{"GET", "/maintenance-windows", nil, everyone},
	{"GET", "/maintenance-windows?active=true", nil, everyone},
	{"GET", "/maintenance-windows/mw-%s", nil, everyone},
	{"GET", "/maintenance-windows/mw-%s/occurrences", nil, everyone},
	{"POST", "/maintenance-windows", func(r string) any { return windowBody("new-mw-"+r, "chk") }, writers},
	{"POST", "/maintenance-windows", func(r string) any { return windowBody("all-mw-" + r) }, operators}, // every service
	{"PUT", "/maintenance-windows/mw-%s", func(r string) any { return windowBody("", "chk") }, writers},
	{"DELETE", "/maintenance-windows/mw-%s", nil, writers},

	{"GET", "/alert-routes", nil, everyone},
	{"GET", "/alert-routes/ar-%s", nil, everyone},
	{"POST", "/alert-routes", func(r string) any { return routeBody("new-ar-" + r) }, operators},
	{"PUT", "/alert-routes/ar-%s", func(r string) any { return routeBody("") }, operators},
	{"DELETE", "/alert-routes/ar-%s", nil, operators},
	{"POST", "/alert-routes/test", func(r string) any { return map[string]any{"labels": map[string]string{"service": "chk"}} }, everyone},
	{"GET", "/inhibit-rules", nil, everyone},
	{"GET", "/silences", nil, everyone},
	{"POST", "/silences", func(r string) any { return silenceBody() }, writers},
	{"POST", "/silences/preview", func(r string) any { return map[string]any{"matchers": []string{`service="chk"`}} }, everyone},
	{"DELETE", "/silences/sil-%s", nil, writers},

	{"GET", "/schedules", nil, everyone},
	{"GET", "/schedules/sc-%s", nil, everyone},
	{"GET", "/schedules/sc-%s/shifts", nil, everyone},
	{"GET", "/schedules/sc-%s/gaps", nil, everyone},
	{"POST", "/schedules", func(r string) any { return scheduleBody("new-sc-" + r) }, writers},
	{"PUT", "/schedules/sc-%s", func(r string) any { return scheduleBody("") }, writers},
	{"DELETE", "/schedules/sc-%s", nil, writers},
	{"GET", "/oncall", nil, everyone},
	{"GET", "/oncall?team=payments", nil, everyone},
	{"GET", "/oncall/gaps", nil, everyone},
	{"GET", "/escalation-policies", nil, everyone},
	{"GET", "/escalation-policies/ep-%s", nil, everyone},
	{"POST", "/escalation-policies", func(r string) any { return policyBody("new-ep-" + r) }, writers},
	{"PUT", "/escalation-policies/ep-%s", func(r string) any { return policyBody("") }, writers},
	{"DELETE", "/escalation-policies/ep-%s", nil, writers},
	{"POST", "/ical-tokens", nil, []string{"admin", "operator", "member", "viewer"}},
	// Another person's contact methods (cu-<role>, a viewer): admins only;
	// managing one's own is checked after the table.
	{"GET", "/users/cu-%s/contact-methods", nil, admins},
	{"POST", "/users/cu-%s/contact-methods", func(r string) any { return contactBody("new") }, admins},
	{"GET", "/users/cu-%s/notification-rules", nil, admins},
	{"PUT", "/users/cu-%s/notification-rules", func(r string) any { return map[string]any{"rules": []any{map[string]any{"method": "cm"}}} }, admins},
	{"DELETE", "/users/cu-%s/contact-methods/cm", nil, admins},
	{"GET", "/schedules/sw-%s/swaps", nil, everyone},
	{"GET", "/schedules/sw-%s/swaps?status=pending", nil, everyone},
	{"POST", "/schedules/sw-%s/swaps", func(r string) any { return swapBody("", "swp", 11) }, writers},
	{"GET", "/swaps", nil, everyone},
	{"GET", "/swaps?user=swp&status=pending", nil, everyone},
	{"POST", "/swaps/swa-%s/accept", nil, writers}, // asked of the role's user
	{"POST", "/swaps/swd-%s/decline", nil, writers},
	{"POST", "/swaps/swc-%s/cancel", nil, writers}, // requested by the role's user
	{"GET", "/pages", nil, everyone},
	{"GET", "/pages?status=open&user=bob", nil, everyone},
	{"GET", "/pages/pg-%s", nil, everyone},
	{"POST", "/pages", func(r string) any { return map[string]any{"policy": "pp-admin", "summary": "paged by " + r} }, writers},
	{"POST", "/pages/pg-%s/acknowledge", nil, writers},
	{"POST", "/pages/pg-%s/snooze", func(r string) any { return map[string]any{"duration": "30m"} }, writers},
	{"POST", "/pages/pg-%s/escalate", nil, writers},
	{"POST", "/pages/pg-%s/resolve", nil, writers},
	{"GET", "/reports/oncall", nil, everyone},
	{"GET", "/reports/oncall?format=csv&by=policy&time_zone=Europe/Berlin", nil, everyone},

	{"GET", "/incident-severities", nil, everyone},
	{"GET", "/incidents", nil, everyone},
	{"GET", "/incidents?status=open&team=payments", nil, everyone},
	{"POST", "/incidents", func(r string) any {
		return map[string]any{"title": "By " + r, "severity": "SEV3", "services": []string{"chk"}}
	}, writers},
	{"GET", "/incidents/inc-%s", nil, everyone},
	{"PATCH", "/incidents/inc-%s", func(r string) any { return map[string]any{"severity": "SEV1", "message": "worse"} }, writers},
	{"PUT", "/incidents/inc-%s/roles/scribe", func(r string) any { return map[string]any{"user": "bob"} }, writers},
	{"POST", "/incidents/inc-%s/services", func(r string) any { return map[string]any{"service": "chk"} }, writers},
	{"GET", "/incidents/inc-%s/timeline", nil, everyone},
	{"POST", "/incidents/inc-%s/timeline", func(r string) any { return map[string]any{"text": "a note"} }, writers},
	{"POST", "/incidents/inc-%s/status-updates", func(r string) any { return map[string]any{"pages": []string{"ip-" + r}, "message": "Looking into it."} }, operators},
	{"GET", "/incidents/inc-%s/postmortem", nil, everyone},
	{"PUT", "/incidents/inc-%s/postmortem", func(r string) any { return map[string]any{"root_causes": "a bad deploy"} }, writers},
	{"POST", "/incidents/inc-%s/postmortem/action-items", func(r string) any { return map[string]any{"title": "Canary", "team": "payments", "due": "2099-01-01"} }, writers},
	{"PATCH", "/action-items/ai-%s", func(r string) any { return map[string]any{"status": "done"} }, writers},
	{"GET", "/action-items", nil, everyone},
	{"GET", "/action-items?team=payments&overdue=true", nil, everyone},
	{"GET", "/reports/incidents", nil, everyone},
	{"GET", "/reports/incidents?format=csv", nil, everyone},
	{"DELETE", "/incidents/inc-%s/roles/scribe", nil, writers},
	{"DELETE", "/incidents/inc-%s/services/chk", nil, writers},

	{"GET", "/enroll-tokens", nil, everyone},
	{"POST", "/enroll-tokens", func(r string) any { return map[string]any{"name": "new-et-" + r, "location": "eu"} }, operators},
	{"DELETE", "/enroll-tokens/et-%s", nil, operators},
	{"GET", "/agents", nil, everyone},
	{"DELETE", "/agents/ag-%s", nil, operators},

	{"GET", "/alerts", nil, everyone},
	{"GET", "/alerts/al-%s", nil, everyone},
	{"POST", "/alerts", func(r string) any { return alertBody("al-" + r) }, writers},
	{"GET", "/integrations", nil, everyone},
	{"POST", "/integrations", func(r string) any { return integrationBody("new-in-" + r) }, writers},
	{"DELETE", "/integrations/in-%s", nil, writers},

	{"GET", "/receivers", nil, everyone},
	{"GET", "/receivers/rc-%s", nil, everyone},
	{"POST", "/receivers", func(r string) any { return receiverBody("new-rc-" + r) }, writers},
	{"PUT", "/receivers/rc-%s", func(r string) any { return receiverBody("") }, writers},
	{"POST", "/receivers/rc-%s/test", nil, writers},
	{"DELETE", "/receivers/rc-%s", nil, writers},
	{"GET", "/deliveries", nil, everyone},
	{"GET", "/deliveries?status=failed&receiver=rc-admin", nil, everyone},
	{"GET", "/audit", nil, auditors},
	{"GET", "/audit/verify", nil, auditors},
	{"GET", "/kinds", nil, everyone},
	{"GET", "/documents/services", nil, everyone},
	{"POST", "/metrics", func(r string) any {
		return map[string]any{"series": []any{map[string]any{"name": "fs_used", "labels": map[string]string{"host": "h-" + r},
			"samples": []any{map[string]any{"t": time.Now().Add(-time.Minute), "v": 0.5}}}}}
	}, operators},
	{"GET", "/metrics/series", nil, everyone},
	{"GET", "/metrics/series?name=fs_used&label=host=h", nil, everyone},
	{"GET", "/forecast-rules/fr-%s/chart.svg", nil, everyone},
	{"GET", "/forecast-rules/fr-%s/status", nil, everyone},
	{"POST", "/apply", func(r string) any {
		return map[string]any{"documents": []any{map[string]any{"apiVersion": "groundcrew.dev/v1", "kind": "Service",
			"metadata": map[string]any{"name": "ap-" + r}, "spec": map[string]any{"owner": "payments", "tier": 3}}}}
	}, writers},
}

// TestAuthorization walks every API route × role and checks allow or deny.
// A route missing from the table fails the test, so new routes must say
// who may call them.
func TestAuthorization(t *testing.T) {
	base := startServer(t, "")
	admin := login(t, base, "admin", adminPassword, "write")
	users := map[string]string{"operator": "olga", "member": "bob", "viewer": "vera", "readtoken": "rita"}
	userRoles := map[string]string{"olga": "operator", "bob": "member", "vera": "viewer", "rita": "operator"}
	for name, role := range userRoles {
		admin.must(201, "POST", "/api/v1/users", map[string]any{"name": name, "role": role, "password": "password-" + name}, nil)
	}
	admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "payments", "members": []string{"bob"}}, nil)
	admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "shared", "criticality": "low"}, nil)
	admin.must(201, "POST", "/api/v1/services", map[string]any{"name": "chk", "owner": "payments", "tier": 2, "environments": []string{"shared"}}, nil)
	admin.must(201, "POST", "/api/v1/users", map[string]any{"name": "swp", "role": "member"}, nil)
	clients := map[string]*client{"admin": admin, "anonymous": {t: t, base: base}}
	for role, name := range users {
		scope := "write"
		if role == "readtoken" {
			scope = "read"
		}
		clients[role] = login(t, base, name, "password-"+name, scope)
	}
	for _, r := range roles {
		admin.must(201, "POST", "/api/v1/users", map[string]any{"name": "u-" + r, "role": "viewer"}, nil)
		admin.must(201, "POST", "/api/v1/teams", map[string]any{"name": "tm-" + r, "members": []string{"bob"}}, nil)
		admin.must(201, "POST", "/api/v1/environments", map[string]any{"name": "e-" + r, "criticality": "low"}, nil)
		admin.must(201, "POST", "/api/v1/services", svcBody("s-"+r), nil)
		admin.must(201, "POST", "/api/v1/tools", map[string]any{"name": "t-" + r, "type": "ci", "owner": "payments"}, nil)
		admin.must(201, "POST", "/api/v1/checks", checkBody("c-"+r), nil)
		admin.must(201, "POST", "/api/v1/maintenance-windows", windowBody("mw-"+r, "chk"), nil)
		admin.must(201, "POST", "/api/v1/status-pages", pageBody("sp-"+r), nil)
		admin.must(201, "POST", "/api/v1/status-pages/sp-"+r+"/notices", noticeBody(), nil)
		admin.must(201, "POST", "/api/v1/alert-routes", routeBody("ar-"+r), nil)
		var sil struct{ ID string }
		admin.must(201, "POST", "/api/v1/silences", silenceBody(), &sil)
		silenceIDs[r] = sil.ID
		var et struct{ Secret string }
		admin.must(201, "POST", "/api/v1/enroll-tokens", map[string]any{"name": "et-" + r, "location": "eu"}, &et)
		admin.must(201, "POST", "/api/agent/v1/enroll", map[string]any{"token": et.Secret, "name": "ag-" + r, "protocol": 1}, nil)
		admin.must(200, "POST", "/api/v1/alerts", alertBody("al-"+r), nil)
		admin.must(201, "POST", "/api/v1/integrations", integrationBody("in-"+r), nil)
		admin.must(201, "POST", "/api/v1/receivers", receiverBody("rc-"+r), nil)
		admin.must(201, "POST", "/api/v1/schedules", scheduleBody("sc-"+r), nil)
		admin.must(201, "POST", "/api/v1/escalation-policies", policyBody("ep-"+r), nil)
		admin.must(201, "POST", "/api/v1/users", map[string]any{"name": "cu-" + r, "role": "viewer"}, nil)
		admin.must(201, "POST", "/api/v1/users/cu-"+r+"/contact-methods", contactBody("cm"), nil)
		// Two steps: "escalate now" always has a next step, whether or not
		// the pager notified the first yet.
		pp := policyBody("pp-" + r)
		pp["spec"].(map[string]any)["steps"] = append(pp["spec"].(map[string]any)["steps"].([]any),
			map[string]any{"delay": "5m", "targets": []any{map[string]any{"team": "payments"}}})
		admin.must(201, "POST", "/api/v1/escalation-policies", pp, nil)
		var pg struct{ ID string }
		admin.must(201, "POST", "/api/v1/pages", map[string]any{"policy": "pp-" + r, "summary": "page of " + r}, &pg)
		pageIDs[r] = pg.ID
		var inc struct{ Number int64 }
		admin.must(201, "POST", "/api/v1/incidents", map[string]any{"title": "INC of " + r, "severity": "SEV2", "services": []string{"chk"}}, &inc)
		incidentNumbers[r] = fmt.Sprint(inc.Number)
		admin.must(200, "PUT", "/api/v1/incidents/"+incidentNumbers[r]+"/postmortem", map[string]any{}, nil)
		var item struct{ ID string }
		admin.must(201, "POST", "/api/v1/incidents/"+incidentNumbers[r]+"/postmortem/action-items", map[string]any{"title": "Fix", "team": "payments", "due": "2099-01-01"}, &item)
		actionItemIDs[r] = item.ID
		admin.must(201, "POST", "/api/v1/status-pages", pageBody("ip-"+r), nil)
		admin.must(201, "POST", "/api/v1/schedules", swapScheduleBody("sw-"+r, swapSelf[r]), nil)
		for kind, body := range map[string]any{"swa": swapBody("swp", swapSelf[r], 5), "swd": swapBody("swp", swapSelf[r], 7), "swc": swapBody(swapSelf[r], "swp", 9)} {
			var sw struct{ ID string }
			admin.must(201, "POST", "/api/v1/schedules/sw-"+r+"/swaps", body, &sw)
			swapIDs[kind+"-"+r] = sw.ID
		}
		admin.must(200, "POST", "/api/v1/apply", map[string]any{"documents": []any{map[string]any{"apiVersion": "groundcrew.dev/v1",
			"kind": "ForecastRule", "metadata": map[string]any{"name": "fr-" + r}, "spec": map[string]any{"series": map[string]any{"name": "fs_used"},
				"method": "linear", "horizon": "24h", "threshold": 0.9, "direction": "rising"}}}}, nil)
		if c := clients[r]; r != "anonymous" && r != "readtoken" {
			c.must(201, "POST", "/api/v1/tokens", map[string]any{"name": "tok-" + r}, nil)
		}
	}
	clients["admin"].must(201, "POST", "/api/v1/tokens", map[string]any{"name": "tok-readtoken"}, nil)
	clients["admin"].must(201, "POST", "/api/v1/tokens", map[string]any{"name": "tok-anonymous"}, nil)

	covered := map[string]bool{}
	// A delivery's id is known only now.
	var sent struct{ Deliveries []string }
	admin.must(202, "POST", "/api/v1/receivers/rc-admin/test", nil, &sent)
	// So is a metric series' id.
	var series struct{ Items []struct{ ID string } }
	admin.must(200, "POST", "/api/v1/metrics", map[string]any{"series": []any{map[string]any{"name": "fs_used", "labels": map[string]string{"host": "h"},
		"samples": []any{map[string]any{"t": time.Now().Add(-time.Minute), "v": 0.5}}}}}, nil)
	admin.must(200, "GET", "/api/v1/metrics/series?name=fs_used", nil, &series)
	table := append(slices.Clone(routes), route{"GET", "/deliveries/" + sent.Deliveries[0], nil, everyone},
		route{"GET", "/metrics/series/" + series.Items[0].ID + "/samples", nil, everyone})
	for _, rt := range table {
		key := strings.ReplaceAll(strings.ReplaceAll(rt.path, "/documents/services", "/documents/{kind}"), "/notices/1", "/notices/{number}")
		key = strings.ReplaceAll(key, "/deliveries/"+sent.Deliveries[0], "/deliveries/{id}")
		key = strings.ReplaceAll(key, "/silences/sil-%s", "/silences/{id}")
		key = strings.ReplaceAll(key, "/pages/pg-%s", "/pages/{id}")
		key = strings.NewReplacer("/incidents/inc-%s", "/incidents/{number}", "/roles/scribe", "/roles/{role}", "/services/chk", "/services/{service}",
			"/action-items/ai-%s", "/action-items/{id}").Replace(key)
		key = strings.ReplaceAll(key, "/contact-methods/cm", "/contact-methods/{method}")
		key = strings.NewReplacer("/swaps/swa-%s", "/swaps/{id}", "/swaps/swd-%s", "/swaps/{id}", "/swaps/swc-%s", "/swaps/{id}").Replace(key)
		key = strings.ReplaceAll(key, "/metrics/series/"+series.Items[0].ID, "/metrics/series/{id}")
		covered[rt.method+" "+templatePath.ReplaceAllString(key, "/{name}")] = true
		for _, role := range roles {
			path := rt.path
			if strings.Contains(path, "%s") {
				path = fmt.Sprintf(path, role)
				path = strings.ReplaceAll(path, "/silences/sil-"+role, "/silences/"+silenceIDs[role])
				path = strings.ReplaceAll(path, "/pages/pg-"+role, "/pages/"+pageIDs[role])
				for _, kind := range []string{"swa", "swd", "swc"} {
					path = strings.ReplaceAll(path, "/swaps/"+kind+"-"+role, "/swaps/"+swapIDs[kind+"-"+role])
				}
				path = strings.NewReplacer("/incidents/inc-"+role, "/incidents/"+incidentNumbers[role], "/action-items/ai-"+role, "/action-items/"+actionItemIDs[role]).Replace(path)
			}
			var body any
			if rt.body != nil {
				body = rt.body(role)
			}
			code, _, data := clients[role].do(rt.method, "/api/v1"+path, body)
			want := "2xx"
			switch {
			case slices.Contains(rt.allowed, role):
			case role == "anonymous":
				want = "401"
			default:
				want = "403"
			}
			got := fmt.Sprint(code)
			if code >= 200 && code < 300 {
				got = "2xx"
			}
			if got != want {
				t.Errorf("%s %s as %s = %d, want %s: %s", rt.method, path, role, code, want, data)
			}
		}
	}
	// Everyone signed in manages their own contact methods and rules; a
	// read-only token may only read them; URLs never come back whole.
	self := map[string]string{"admin": "admin", "operator": "olga", "member": "bob", "viewer": "vera", "readtoken": "rita", "anonymous": "vera"}
	for _, role := range roles {
		c, base := clients[role], "/api/v1/users/"+self[role]
		for _, step := range []struct {
			method, path string
			body         any
			ok           int
			write        bool
		}{
			{"POST", "/contact-methods", contactBody("own-" + role), 201, true},
			{"PUT", "/notification-rules", map[string]any{"rules": []any{map[string]any{"method": "own-" + role, "delay_minutes": 5}}}, 200, true},
			{"GET", "/contact-methods", nil, 200, false},
			{"GET", "/notification-rules", nil, 200, false},
			{"DELETE", "/contact-methods/own-" + role, nil, 204, true},
		} {
			want := step.ok
			switch {
			case role == "anonymous":
				want = 401
			case role == "readtoken" && step.write:
				want = 403
			}
			code, _, data := c.do(step.method, base+step.path, step.body)
			if code != want {
				t.Errorf("%s %s as %s = %d, want %d: %s", step.method, base+step.path, role, code, want, data)
			}
			if strings.Contains(string(data), "secret-hook") {
				t.Errorf("%s %s as %s shows the webhook URL: %s", step.method, base+step.path, role, data)
			}
		}
	}
	// The public status pages and badges need no login, through the whole
	// server (cross-origin protection included); sp-viewer survived the
	// table, as a viewer may not delete it.
	for _, path := range []string{"/status/sp-viewer", "/status/sp-viewer/status.json", "/badge/check/c-viewer/status.svg"} {
		if code, _, data := clients["anonymous"].do("GET", path, nil, "Origin", "https://elsewhere.example", "Sec-Fetch-Site", "cross-site"); code != 200 {
			t.Errorf("GET %s anonymously = %d: %s", path, code, data)
		}
	}
	// Every operation in the OpenAPI document must be in the table.
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	admin.must(200, "GET", "/api/v1/openapi.json", nil, &doc)
	var missing []string
	for p, ops := range doc.Paths {
		for m := range ops {
			key := strings.ToUpper(m) + " " + p
			if !covered[key] {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes without an authorization expectation: %v", missing)
	}
}

var templatePath = regexp.MustCompile(`/[a-z]+-%s`)
