package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/oncall"
)

// RegisterOnCall registers the Schedule and EscalationPolicy kinds.
// Schedules come before the policies that page them.
func RegisterOnCall(r *Registry, svc *oncall.Service) {
	r.Register(&Kind{
		Name: "Schedule", Table: "oncall_schedules", Plural: "schedules",
		Aliases: []string{"schedule", "oncall-schedules", "oncall-schedule", "sched"}, Order: 90,
		Columns: []Column{{"OWNER", "spec.owner"}, {"TIME ZONE", "spec.time_zone"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec oncall.ScheduleSpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			sc, changed, err := svc.PutScheduleTx(ctx, tx, oncall.ScheduleInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			for _, w := range sc.Warnings {
				Warn(ctx, "spec.%s: %s", w.Field, w.Message)
			}
			return Action(changed, sc.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error {
			return svc.DeleteScheduleTx(ctx, tx, name, 0)
		},
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]oncall.Schedule, string, error) {
				return svc.ListSchedules(identity.WithActor(ctx, identity.System()), oncall.Filter{After: after, Limit: 1000})
			})
			out := make([]Document, len(all))
			for i, sc := range all {
				out[i] = doc("Schedule", sc.Name, sc.Labels, sc.Spec)
			}
			return out, err
		},
	})
	r.Register(&Kind{
		Name: "EscalationPolicy", Table: "oncall_escalation_policies", Plural: "escalationpolicies",
		Aliases: []string{"escalationpolicy", "escalation-policies", "escalation-policy", "policies", "ep"}, Order: 91,
		Columns: []Column{{"OWNER", "spec.owner"}, {"REPEAT", "spec.repeat"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec oncall.PolicySpec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			p, changed, err := svc.PutPolicyTx(ctx, tx, oncall.PolicyInput{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, p.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return svc.DeletePolicyTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]oncall.EscalationPolicy, string, error) {
				return svc.ListPolicies(identity.WithActor(ctx, identity.System()), oncall.Filter{After: after, Limit: 1000})
			})
			out := make([]Document, len(all))
			for i, p := range all {
				out[i] = doc("EscalationPolicy", p.Name, p.Labels, p.Spec)
			}
			return out, err
		},
	})
}
