package oncall

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// The kinds of contact method.
const (
	ContactEmail   = "email"   // an e-mail address
	ContactSlack   = "slack"   // a Slack incoming webhook (a DM channel)
	ContactWebhook = "webhook" // a generic webhook
)

// Limits on what one person may keep.
const (
	MaxContactMethods    = 10 // contact methods per person
	MaxNotificationRules = 20 // notification rules per person
	MaxRuleDelayMinutes  = 60 // the longest delay of a rule
)

var contactName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ContactMethod is one way to reach a person. The address of a Slack or
// webhook method is a secret URL: only its scheme and host are ever shown.
type ContactMethod struct {
	ID        uuid.UUID `json:"id"`
	User      string    `json:"user"`
	Name      string    `json:"name"`
	Type      string    `json:"type" enum:"email,slack,webhook"`
	Address   string    `json:"address" doc:"the e-mail address; for slack and webhook only scheme://host/… (the URL is a secret)"`
	CreatedAt time.Time `json:"created_at"`
}

// ContactMethodInput adds a contact method to a person.
type ContactMethodInput struct {
	User    string `json:"-"`
	Name    string `json:"name" maxLength:"63" doc:"unique per person, e.g. work-email"`
	Type    string `json:"type" enum:"email,slack,webhook"`
	Address string `json:"address" maxLength:"2000" doc:"an e-mail address, or the https URL of the Slack or generic webhook"`
}

// Validate checks the input, naming the bad field.
func (in ContactMethodInput) Validate() error {
	if !contactName.MatchString(in.Name) {
		return errs.Invalidf("name", "%q must be 1–63 lowercase letters, digits and dashes, not starting or ending with a dash", in.Name)
	}
	switch in.Type {
	case ContactEmail:
		a, err := mail.ParseAddress(in.Address)
		if err != nil || a.Name != "" || a.Address != in.Address {
			return errs.Invalidf("address", "%q is not a plain e-mail address such as ana@example.com", in.Address)
		}
	case ContactSlack, ContactWebhook:
		return validHookURL(in.Address)
	default:
		return errs.Invalidf("type", "%q is not one of email, slack, webhook", in.Type)
	}
	return nil
}

// validHookURL accepts an absolute https URL, or http for a loopback host.
func validHookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || len(s) > 2000 {
		return errs.Invalidf("address", "not an absolute URL without credentials")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); h == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return errs.Invalidf("address", "must be https (http only for loopback hosts)")
	}
	return errs.Invalidf("address", "scheme %q: must be https", u.Scheme)
}

// redact shows an address as the API may: e-mail addresses whole, URLs
// only as scheme://host/….
func redact(typ, address string) string {
	if typ == ContactEmail {
		return address
	}
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return "…"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// RuleInput is one notification rule: reach the person through the
// contact method named Method, DelayMinutes after they are paged.
type RuleInput struct {
	Method       string `json:"method" maxLength:"63" doc:"the name of one of the person's contact methods"`
	DelayMinutes int    `json:"delay_minutes,omitempty" minimum:"0" maximum:"60" doc:"minutes after the page; 0 is immediately"`
}

// PlannedContact is a step of the pager's plan for a person: a contact
// method and when to use it.
type PlannedContact struct {
	Method       ContactMethod `json:"method"`
	DelayMinutes int           `json:"delay_minutes"`
}

// validateRules checks rules, naming the bad field.
func validateRules(rules []RuleInput) error {
	if len(rules) > MaxNotificationRules {
		return errs.Invalidf("rules", "%d rules: at most %d per person", len(rules), MaxNotificationRules)
	}
	seen := map[RuleInput]bool{}
	for i, r := range rules {
		if r.Method == "" {
			return errs.Invalidf(fmt.Sprintf("rules[%d].method", i), "is required")
		}
		if r.DelayMinutes < 0 || r.DelayMinutes > MaxRuleDelayMinutes {
			return errs.Invalidf(fmt.Sprintf("rules[%d].delay_minutes", i), "%d is not between 0 and %d", r.DelayMinutes, MaxRuleDelayMinutes)
		}
		if seen[r] {
			return errs.Invalidf(fmt.Sprintf("rules[%d]", i), "repeats an earlier rule")
		}
		seen[r] = true
	}
	return nil
}

// authorizeSelf lets the actor act on user's contacts: a person their
// own (write needs a write-scoped credential), admins anyone's.
func authorizeSelf(ctx context.Context, user string, write bool) error {
	a := identity.ActorFrom(ctx)
	if a == nil {
		return errs.Unauthorizedf("authentication required")
	}
	if a.Name == user && a.UserID != uuid.Nil {
		if write {
			return identity.Authorize(ctx, identity.PermManageOwnTokens, uuid.Nil)
		}
		return identity.Authorize(ctx, identity.PermRead, uuid.Nil)
	}
	if !write {
		if a.Role == identity.RoleAdmin {
			return identity.Authorize(ctx, identity.PermRead, uuid.Nil)
		}
		return errs.Forbiddenf("only admins may see another person's contact methods")
	}
	return identity.Authorize(ctx, identity.PermManageUsers, uuid.Nil)
}

// userID resolves user, NotFound when there is none.
func (s *Service) userID(ctx context.Context, q db.Querier, user string) (uuid.UUID, error) {
	u, err := s.dir.GetUserTx(ctx, q, user)
	return u.ID, err
}

// AddContactMethod adds a contact method to in.User.
func (s *Service) AddContactMethod(ctx context.Context, in ContactMethodInput) (ContactMethod, error) {
	if err := authorizeSelf(ctx, in.User, true); err != nil {
		return ContactMethod{}, err
	}
	if err := in.Validate(); err != nil {
		return ContactMethod{}, err
	}
	m := ContactMethod{ID: db.NewID(), User: in.User, Name: in.Name, Type: in.Type, CreatedAt: s.clock.Now().UTC()}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		uid, err := s.userID(ctx, tx, in.User)
		if err != nil {
			return err
		}
		var n int
		var dup bool
		rows, err := tx.QueryContext(ctx, `SELECT name FROM oncall_contact_methods WHERE user_id = $1`, uid)
		if err != nil {
			return fmt.Errorf("list contact methods: %w", err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("list contact methods: %w", err)
			}
			n++
			dup = dup || name == in.Name
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list contact methods: %w", err)
		}
		if dup {
			return errs.Conflictf("%s already has a contact method %q", in.User, in.Name)
		}
		if n >= MaxContactMethods {
			return errs.Invalidf("name", "%s already has %d contact methods, the most a person may have", in.User, n)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_contact_methods (id, user_id, name, type, address, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			m.ID, uid, m.Name, m.Type, in.Address, m.CreatedAt); err != nil {
			return fmt.Errorf("add contact method: %w", err)
		}
		m.Address = redact(m.Type, in.Address)
		return s.record(ctx, tx, "create", "contact method", m.ID, in.User+"/"+m.Name, nil, m)
	})
	return m, err
}

// listMethods returns the contact methods of the user with id uid, by
// name, with their full addresses.
func listMethods(ctx context.Context, q db.Querier, user string, uid uuid.UUID) ([]ContactMethod, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, type, address, created_at FROM oncall_contact_methods WHERE user_id = $1 ORDER BY name`, uid)
	if err != nil {
		return nil, fmt.Errorf("list contact methods: %w", err)
	}
	defer rows.Close()
	out := []ContactMethod{}
	for rows.Next() {
		m := ContactMethod{User: user}
		if err := rows.Scan(&m.ID, &m.Name, &m.Type, &m.Address, &m.CreatedAt); err != nil {
			return nil, fmt.Errorf("list contact methods: %w", err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contact methods: %w", err)
	}
	return out, nil
}

// ListContactMethods returns a person's contact methods by name, with the
// URLs redacted.
func (s *Service) ListContactMethods(ctx context.Context, user string) ([]ContactMethod, error) {
	if err := authorizeSelf(ctx, user, false); err != nil {
		return nil, err
	}
	uid, err := s.userID(ctx, s.db.Reader(), user)
	if err != nil {
		return nil, err
	}
	out, err := listMethods(ctx, s.db.Reader(), user, uid)
	for i := range out {
		out[i].Address = redact(out[i].Type, out[i].Address)
	}
	return out, err
}

// DeleteContactMethod deletes a person's contact method, and with it the
// notification rules that use it.
func (s *Service) DeleteContactMethod(ctx context.Context, user, name string) error {
	if err := authorizeSelf(ctx, user, true); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		uid, err := s.userID(ctx, tx, user)
		if err != nil {
			return err
		}
		ms, err := listMethods(ctx, tx, user, uid)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ms, func(m ContactMethod) bool { return m.Name == name })
		if i < 0 {
			return errs.NotFoundf("%s has no contact method %q", user, name)
		}
		m := ms[i]
		m.Address = redact(m.Type, m.Address)
		if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_notification_rules WHERE contact_method_id = $1`, m.ID); err != nil {
			return fmt.Errorf("delete contact method: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_contact_methods WHERE id = $1`, m.ID); err != nil {
			return fmt.Errorf("delete contact method: %w", err)
		}
		return s.record(ctx, tx, "delete", "contact method", m.ID, user+"/"+name, m, nil)
	})
}

// SetNotificationRules replaces all of a person's notification rules in
// one transaction: a bad rule stores nothing.
func (s *Service) SetNotificationRules(ctx context.Context, user string, rules []RuleInput) ([]PlannedContact, error) {
	if err := authorizeSelf(ctx, user, true); err != nil {
		return nil, err
	}
	if err := validateRules(rules); err != nil {
		return nil, err
	}
	var out []PlannedContact
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		uid, err := s.userID(ctx, tx, user)
		if err != nil {
			return err
		}
		before, err := plan(ctx, tx, user, uid)
		if err != nil {
			return err
		}
		ms, err := listMethods(ctx, tx, user, uid)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_notification_rules WHERE user_id = $1`, uid); err != nil {
			return fmt.Errorf("replace notification rules: %w", err)
		}
		for i, r := range rules {
			j := slices.IndexFunc(ms, func(m ContactMethod) bool { return m.Name == r.Method })
			if j < 0 {
				return errs.Invalidf(fmt.Sprintf("rules[%d].method", i), "%s has no contact method %q", user, r.Method)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_notification_rules (id, user_id, contact_method_id, delay_minutes) VALUES ($1, $2, $3, $4)`,
				db.NewID(), uid, ms[j].ID, r.DelayMinutes); err != nil {
				return fmt.Errorf("replace notification rules: %w", err)
			}
		}
		if out, err = plan(ctx, tx, user, uid); err != nil {
			return err
		}
		return s.record(ctx, tx, "update", "notification rules", uid, user, before, out)
	})
	return out, err
}

// plan returns the redacted notification plan of the user with id uid.
func plan(ctx context.Context, q db.Querier, user string, uid uuid.UUID) ([]PlannedContact, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.id, m.name, m.type, m.address, m.created_at, r.delay_minutes
		FROM oncall_notification_rules r JOIN oncall_contact_methods m ON m.id = r.contact_method_id
		WHERE r.user_id = $1 ORDER BY r.delay_minutes, m.name`, uid)
	if err != nil {
		return nil, fmt.Errorf("notification plan: %w", err)
	}
	defer rows.Close()
	out := []PlannedContact{}
	for rows.Next() {
		p := PlannedContact{Method: ContactMethod{User: user}}
		m := &p.Method
		if err := rows.Scan(&m.ID, &m.Name, &m.Type, &m.Address, &m.CreatedAt, &p.DelayMinutes); err != nil {
			return nil, fmt.Errorf("notification plan: %w", err)
		}
		m.CreatedAt = m.CreatedAt.UTC()
		m.Address = redact(m.Type, m.Address)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notification plan: %w", err)
	}
	return out, nil
}

// NotificationPlan returns what the pager will use for a person: each
// rule's contact method and delay, by delay then method name. Addresses
// are redacted like everywhere in the API.
func (s *Service) NotificationPlan(ctx context.Context, user string) ([]PlannedContact, error) {
	if err := authorizeSelf(ctx, user, false); err != nil {
		return nil, err
	}
	uid, err := s.userID(ctx, s.db.Reader(), user)
	if err != nil {
		return nil, err
	}
	return plan(ctx, s.db.Reader(), user, uid)
}
