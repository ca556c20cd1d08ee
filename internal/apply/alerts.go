package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/alert/route"
	"groundcrew.dev/groundcrew/internal/identity"
)

// RegisterAlerts registers the AlertRoute and InhibitRule kinds.
func RegisterAlerts(r *Registry, alerts *alert.Service, changed func()) {
	r.Register(&Kind{
		Name: "AlertRoute", Table: "alert_routes", Plural: "alertroutes",
		Aliases: []string{"alertroute", "alert-routes", "alert-route", "routes", "route"}, Order: 80,
		Columns: []Column{{"POSITION", "spec.position"}, {"MATCHERS", "spec.matchers"}, {"RECEIVERS", "spec.receivers"}, {"GROUP BY", "spec.group_by"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec alert.RouteDocSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			rt, changed, err := alerts.PutRouteTx(ctx, tx, alert.RouteInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, rt.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			return alerts.DeleteRouteTx(ctx, tx, name, 0)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := alerts.ListRoutes(identity.WithActor(ctx, identity.System()))
			out := make([]Document, len(all))
			for i, rt := range all {
				out[i] = doc("AlertRoute", rt.Name, rt.Labels, rt.Spec)
			}
			return out, err
		},
		Committed: changed,
	})
	r.Register(&Kind{
		Name: "InhibitRule", Table: "alert_inhibit_rules", Plural: "inhibitrules",
		Aliases: []string{"inhibitrule", "inhibit-rules", "inhibit-rule", "inhibitions"}, Order: 81,
		Columns: []Column{{"SOURCE", "spec.source_matchers"}, {"TARGET", "spec.target_matchers"}, {"EQUAL", "spec.equal"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec route.InhibitRule
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			rule, changed, err := alerts.PutInhibitRuleTx(ctx, tx, d.Metadata.Name, d.Metadata.Labels, spec, origin)
			return Action(changed, rule.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			return alerts.DeleteInhibitRuleTx(ctx, tx, name)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := alerts.ListInhibitRules(identity.WithActor(ctx, identity.System()))
			out := make([]Document, len(all))
			for i, rule := range all {
				out[i] = doc("InhibitRule", rule.Name, rule.Labels, rule.Spec)
			}
			return out, err
		},
		Committed: changed,
	})
}
