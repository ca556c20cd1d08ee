package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/metric"
)

// RegisterForecasts registers the ForecastRule kind (operators write).
func RegisterForecasts(r *Registry, metrics *metric.Service) {
	r.Register(&Kind{
		Name: "ForecastRule", Table: "forecast_rules", Plural: "forecastrules",
		Aliases: []string{"forecastrule", "forecast-rules", "forecast-rule", "fr"}, Order: 85,
		Columns: []Column{{"METRIC", "spec.series.name"}, {"METHOD", "spec.method"}, {"THRESHOLD", "spec.threshold"},
			{"DIRECTION", "spec.direction"}, {"HORIZON", "spec.horizon"}, {"FOR", "spec.for"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec metric.RuleSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			rule, changed, err := metrics.PutRuleTx(ctx, tx, metric.RuleInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin)
			return Action(changed, rule.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return metrics.DeleteRuleTx(ctx, tx, name) },
		Export: func(ctx context.Context) ([]Document, error) {
			rules, err := metrics.ListRules(identity.WithActor(ctx, identity.System()))
			out := make([]Document, len(rules))
			for i, fr := range rules {
				out[i] = doc("ForecastRule", fr.Name, fr.Labels, fr.Spec)
			}
			return out, err
		},
	})
}
