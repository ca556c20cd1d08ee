package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"groundcrew.dev/groundcrew/internal/alert"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/jobs"
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
	opts := alert.DispatcherOptions{Clock: s.opts.Clock, Logger: s.log, ExternalURL: s.baseURL()}
	if s.DB.Engine == db.Postgres {
		// Several ticks long, or leadership would flap between replicas
		// (a new leader starts its groups over).
		ttl := 15 * time.Second
		if s.opts.LeaseTTL > 0 {
			ttl = max(s.opts.LeaseTTL, 5*time.Second)
		}
		opts.Leader = jobs.NewLeader(s.DB, s.opts.Clock, "alert-dispatch", s.holder(), ttl, s.log)
	}
	s.Dispatcher = alert.NewDispatcher(s.Alerts, s.Notify, opts)
	s.Dispatcher.Start(ctx)
}
