package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/identity"
)

// RegisterChecks registers the Check kind.
func RegisterChecks(r *Registry, checks *check.Service) {
	r.Register(&Kind{
		Name: "Check", Table: "checks", Plural: "checks", Aliases: []string{"check"}, Order: 60,
		Columns: []Column{{"SERVICE", "spec.service"}, {"ENVIRONMENT", "spec.environment"}, {"TYPE", "spec.type"}, {"INTERVAL", "spec.interval"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec check.Spec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			c, changed, _, err := checks.PutTx(ctx, tx, check.Input{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, c.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return checks.DeleteTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]check.Check, string, error) {
				return checks.List(identity.WithActor(ctx, identity.System()), check.Filter{After: after, Limit: 1000})
			})
			out := make([]Document, len(all))
			for i, c := range all {
				out[i] = doc("Check", c.Name, c.Labels, c.Spec)
			}
			return out, err
		},
		Committed: checks.Changed,
	})
}
