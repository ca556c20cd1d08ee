package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/oncall/pager"
)

// holder names this replica in leases: Options.Holder, else the host
// name, process id and a random suffix.
func (s *Server) holder() string {
	if s.holderName == "" {
		s.holderName = s.opts.Holder
		if s.holderName == "" {
			host, _ := os.Hostname()
			// The random end of a UUIDv7 (its start is the time: two
			// replicas started in the same minute would share it).
			id := db.NewID().String()
			s.holderName = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), id[len(id)-12:])
		}
	}
	return s.holderName
}

// startAlerts starts resolving expired alerts and dispatching
// notifications; on PostgreSQL one replica dispatches at a time.
func (s *Server) startAlerts(ctx context.Context) {
	s.AlertSweeper = s.Alerts.StartSweeper(ctx)
	s.Alerts.SetLinks(s.box, s.baseURL()) // signed acknowledge/resolve links in notifications
	opts := alert.DispatcherOptions{Clock: s.opts.Clock, Logger: s.log, ExternalURL: s.baseURL(), Pager: s.Pager,
		Incidents: incidentTimeline{s.Incidents}}
	// Several ticks long, or leadership would flap between replicas (a
	// new dispatch leader starts its groups over).
	if l := s.leader("alert-dispatch"); l != nil {
		opts.Leader = l
	}
	s.Dispatcher = alert.NewDispatcher(s.Alerts, s.Notify, opts)
	s.Dispatcher.Start(ctx)
	s.Pager.SetBaseURL(s.baseURL())
	s.Pager.Start(ctx)
}

// leader returns the lease that elects one replica for the job name on
// PostgreSQL; nil (this replica) on SQLite.
func (s *Server) leader(name string) *jobs.Leader {
	if s.DB.Engine != db.Postgres {
		return nil
	}
	ttl := 15 * time.Second
	if s.opts.LeaseTTL > 0 {
		ttl = max(s.opts.LeaseTTL, 5*time.Second)
	}
	return jobs.NewLeader(s.DB, s.opts.Clock, name, s.holder(), ttl, s.log)
}

// newPager builds the pager: escalation of pages, one replica at a time,
// throttled per contact method, with signed links.
func (s *Server) newPager() *pager.Pager {
	n, window, _ := s.cfg.PageThrottleValue() // validated when the config was resolved
	opts := pager.Options{Clock: s.opts.Clock, Logger: s.log, Mailer: s.cfg.PagingMailer, Signer: s.box, Incidents: incidentTimeline{s.Incidents}, Throttle: pager.Throttle{Messages: n, Window: window}}
	if l := s.leader("pager"); l != nil {
		opts.Leader = l
	}
	return pager.New(s.DB, s.OnCall, s.Notify, opts)
}
