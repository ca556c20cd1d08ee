package oncall

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
)

// What the pager reads, in its own transaction and as the system: a
// policy by name and a person's contacts with their addresses (never shown
// through the API).

// Contact is one way the pager reaches a person: a contact method with its
// address, used Delay after the person is paged.
type Contact struct {
	MethodID uuid.UUID
	Name     string // the method's name, e.g. work-email
	Type     string // email, slack or webhook
	Address  string
	Delay    time.Duration
}

// PolicyTx returns the escalation policy called name, read through q,
// without authorizing (the pager reads it for the system).
func (s *Service) PolicyTx(ctx context.Context, q db.Querier, name string) (EscalationPolicy, error) {
	r, err := getRow(ctx, q, policiesTable, "escalation policy", name)
	if err != nil {
		return EscalationPolicy{}, err
	}
	return policyOf(r)
}

// ContactsTx returns how to reach user: their notification rules, by delay
// then method name, or — when they have no rules — each contact method at
// once (a person who added a method expects to be reached by it). No
// contacts at all is an empty list; the pager reports the person as
// unreachable.
func (s *Service) ContactsTx(ctx context.Context, q db.Querier, user string) ([]Contact, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.id, m.name, m.type, m.address, COALESCE(r.delay_minutes, 0), r.id IS NOT NULL
		FROM oncall_contact_methods m JOIN users u ON u.id = m.user_id
		LEFT JOIN oncall_notification_rules r ON r.contact_method_id = m.id
		WHERE u.name = $1 ORDER BY 5, m.name`, user)
	if err != nil {
		return nil, fmt.Errorf("contacts of %s: %w", user, err)
	}
	defer rows.Close()
	var ruled, all []Contact
	for rows.Next() {
		var c Contact
		var minutes int
		var hasRule bool
		if err := rows.Scan(&c.MethodID, &c.Name, &c.Type, &c.Address, &minutes, &hasRule); err != nil {
			return nil, fmt.Errorf("contacts of %s: %w", user, err)
		}
		c.Delay = time.Duration(minutes) * time.Minute
		if hasRule {
			ruled = append(ruled, c)
		} else {
			all = append(all, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts of %s: %w", user, err)
	}
	if len(ruled) > 0 {
		return ruled, nil
	}
	return all, nil
}
