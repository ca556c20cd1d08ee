package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/maintenance"
)

// RegisterMaintenance registers the MaintenanceWindow kind.
func RegisterMaintenance(r *Registry, windows *maintenance.Service) {
	r.Register(&Kind{
		Name: "MaintenanceWindow", Table: "maintenance_windows", Plural: "maintenancewindows",
		Aliases: []string{"maintenancewindow", "maintenance-windows", "maintenance-window", "maintenance", "mw"}, Order: 70,
		Columns: []Column{{"SERVICES", "spec.services"}, {"ENVIRONMENTS", "spec.environments"}, {"START", "spec.start"},
			{"TIME ZONE", "spec.recurrence.time_zone"}, {"DAYS", "spec.recurrence.days"}, {"AT", "spec.recurrence.at"}, {"DURATION", "spec.recurrence.duration"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec maintenance.Spec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			w, changed, err := windows.PutTx(ctx, tx, maintenance.Input{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, w.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return windows.DeleteTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]maintenance.Window, string, error) {
				return windows.List(identity.WithActor(ctx, identity.System()), maintenance.Filter{After: after, Limit: 1000})
			})
			out := make([]Document, len(all))
			for i, w := range all {
				out[i] = doc("MaintenanceWindow", w.Name, w.Labels, w.Spec)
			}
			return out, err
		},
		Committed: windows.Changed,
	})
}
