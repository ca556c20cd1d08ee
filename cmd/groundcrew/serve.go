package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/db"
	"groundcrew.dev/groundcrew/internal/jobs"
	"groundcrew.dev/groundcrew/internal/server"
)

func newServeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the groundcrew server",
		Long: `Run the groundcrew server: API, web UI and background jobs.

Settings come from flags, then GROUNDCREW_* environment variables, then the
YAML file named by --config, then defaults. On first start the administrator
"admin" gets the password in GROUNDCREW_ADMIN_PASSWORD; without it a one-time
setup link is logged.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Resolve(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			srv := server.New(cfg, server.Options{Getenv: e.getenv, Out: e.stderr})
			ctx := cmd.Context()
			if err := srv.Start(ctx); err != nil {
				return err
			}
			errc := make(chan error, 1)
			go func() { errc <- srv.Wait() }()
			select {
			case err := <-errc:
				shutdown(srv)
				return err
			case <-ctx.Done():
			}
			fmt.Fprintln(e.stderr, "shutting down")
			return shutdown(srv)
		},
	}
	config.Bind(cmd.Flags())
	return cmd
}

func shutdown(srv *server.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

func newMigrateCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Resolve(cmd.Flags(), e.getenv)
			if err != nil {
				return err
			}
			d, err := db.Open(cmd.Context(), cfg.Database, db.Options{})
			if err != nil {
				return err
			}
			defer d.Close()
			n, err := d.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			if err := jobs.Migrate(cmd.Context(), d); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %d migration(s) applied; schema is current\n", db.Redact(cfg.Database), n)
			return nil
		},
	}
	config.Bind(cmd.Flags())
	return cmd
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(e.stdout, "groundcrew", server.Version)
		},
	}
}
