package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/check"
	"groundcrew.dev/groundcrew/internal/db"
)

// Alert names of the check sink.
const (
	CheckDown     = "CheckDown"
	CheckDegraded = "CheckDegraded"
)

// CheckChanged turns a check's confirmed state change into alerts, in the
// runner's transaction: an alertable change to DOWN fires CheckDown
// (severity critical), to DEGRADED CheckDegraded (severity warning); a
// change to UP (or to blocked or paused: the check no longer speaks for
// itself) resolves them. A change muted by maintenance fires nothing. The
// alert is identified by the check's id and alert name, so renaming the
// check's service does not orphan it.
func (s *Service) CheckChanged(ctx context.Context, tx *sql.Tx, e check.Event) error {
	var fire string
	var resolve []string
	switch e.To {
	case check.Down:
		fire, resolve = CheckDown, []string{CheckDegraded}
	case check.Degraded:
		fire, resolve = CheckDegraded, []string{CheckDown}
	case check.Up, check.Blocked, check.Paused:
		resolve = []string{CheckDown, CheckDegraded}
	default:
		return nil
	}
	if !e.Alertable {
		fire = ""
	}
	o := origin{source: SourceCheck, scope: "check", actor: "check/" + e.Check}
	var alerts []Incoming
	for _, name := range resolve {
		alerts = append(alerts, Incoming{DedupKey: checkDedupKey(e.CheckID, name), Resolve: true, EndsAt: e.At,
			Labels: map[string]string{"alertname": name, "check": e.Check}})
	}
	if fire != "" {
		svc, env, svcID, err := checkContext(ctx, tx, e.CheckID)
		if err != nil {
			return err
		}
		o.service = svcID
		sev := "critical"
		if fire == CheckDegraded {
			sev = "warning"
		}
		in := Incoming{DedupKey: checkDedupKey(e.CheckID, fire), StartsAt: e.At, Severity: sev,
			Labels:      map[string]string{"alertname": fire, "check": e.Check, "service": svc, "environment": env, "severity": sev},
			Annotations: map[string]string{"reason": truncate(e.Reason, MaxAnnotation)},
			Summary:     truncate(fmt.Sprintf("check %s is %s: %s", e.Check, strings.ToUpper(string(e.To)), e.Reason), MaxSummary)}
		in.Annotations["summary"] = in.Summary
		if e.Evidence != nil {
			if b, err := json.Marshal(e.Evidence); err == nil && len(b) <= MaxAnnotation {
				in.Annotations["evidence"] = string(b)
			}
		}
		alerts = append(alerts, in)
	}
	if _, err := s.ingestTx(ctx, tx, o, alerts, s.clock.Now()); err != nil {
		return fmt.Errorf("check %s alert: %w", e.Check, err)
	}
	return s.checkOnTimelines(ctx, tx, e)
}

// SetIncidents makes check state changes appear on the timelines of the
// open incidents of the checks' services; call it before serving.
func (s *Service) SetIncidents(i Incidents) { s.incidents = i }

// checkOnTimelines records a check's state change on the timelines of the
// open incidents of its service.
func (s *Service) checkOnTimelines(ctx context.Context, tx *sql.Tx, e check.Event) error {
	if s.incidents == nil {
		return nil
	}
	svc, _, _, err := checkContext(ctx, tx, e.CheckID)
	if err != nil || svc == "" {
		return err
	}
	text := fmt.Sprintf("Check %s is %s", e.Check, strings.ToUpper(string(e.To)))
	if e.Reason != "" && e.To != check.Up {
		text += ": " + truncate(e.Reason, 300)
	}
	_, err = s.incidents.RecordTx(ctx, tx, []string{svc}, "check_state_changed", text,
		map[string]any{"check": e.Check, "from": e.From, "to": e.To}, e.At, "check/"+e.Check)
	return err
}

func checkDedupKey(checkID uuid.UUID, alertname string) string {
	return checkID.String() + "/" + alertname
}

// checkContext reads the service and environment a check watches. It reads
// the check tables directly: the check package has no lookup by id inside
// a transaction, and this runs in the runner's own.
func checkContext(ctx context.Context, tx *sql.Tx, checkID uuid.UUID) (service, environment string, serviceID uuid.UUID, err error) {
	err = tx.QueryRowContext(ctx, `SELECT s.name, e.name, s.id FROM checks c JOIN services s ON s.id = c.service_id
		JOIN environments e ON e.id = c.environment_id WHERE c.id = $1`, checkID).Scan(&service, &environment, &serviceID)
	if db.IsNoRows(err) {
		return "", "", uuid.Nil, nil
	}
	if err != nil {
		return "", "", uuid.Nil, fmt.Errorf("check context: %w", err)
	}
	return service, environment, serviceID, nil
}
