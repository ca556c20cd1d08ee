package apply

import (
	"context"
	"database/sql"

	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/notify"
)

// RegisterReceivers registers the Receiver kind. Exports show secrets as
// "<redacted>", and applying "<redacted>" keeps the stored secret, so an
// export applies back unchanged.
func RegisterReceivers(r *Registry, receivers *notify.Service) {
	r.Register(&Kind{
		Name: "Receiver", Table: "notify_receivers", Plural: "receivers",
		Aliases: []string{"receiver", "rcv"}, Order: 25, // after teams (owners), before anything routing to receivers
		Columns: []Column{{"OWNER", "spec.owner"}, {"DESCRIPTION", "spec.description"}},
		Put: func(ctx context.Context, tx *sql.Tx, d Document, origin string) (string, error) {
			var spec notify.Spec
			if err := DecodeSpec(d, &spec); err != nil {
				return "", err
			}
			rcv, changed, err := receivers.PutTx(ctx, tx, notify.Input{Name: d.Metadata.Name, Labels: d.Metadata.Labels, Spec: spec}, origin, 0, false)
			return Action(changed, rcv.Revision), err
		},
		Delete: func(ctx context.Context, tx *sql.Tx, name string) error { return receivers.DeleteTx(ctx, tx, name, 0) },
		Export: func(ctx context.Context) ([]Document, error) {
			all, err := pageAll(func(after string) ([]notify.Receiver, string, error) {
				return receivers.List(identity.WithActor(ctx, identity.System()), after, 1000)
			})
			out := make([]Document, len(all))
			for i, rcv := range all {
				out[i] = doc("Receiver", rcv.Name, rcv.Labels, rcv.Spec)
			}
			return out, err
		},
	})
}
