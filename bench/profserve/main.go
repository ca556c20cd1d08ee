// Command profserve is `groundcrew serve` with net/http/pprof on a second,
// loopback-only listener, for profiling the server under load
// (`go run ./bench/apiload -profile DIR` builds and runs it). It takes the
// flags of `groundcrew serve` plus --pprof-listen, and runs the same
// internal/server.Server, so the profile is of the code people run.
//
// It is a benchmarking tool: never expose its pprof listener.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"groundcrew.dev/groundcrew/internal/config"
	"groundcrew.dev/groundcrew/internal/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	fs := pflag.NewFlagSet("profserve", pflag.ContinueOnError)
	config.Bind(fs)
	pprofListen := fs.String("pprof-listen", "127.0.0.1:0", "loopback address for net/http/pprof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*pprofListen)
	if err != nil || !(host == "127.0.0.1" || host == "::1" || strings.EqualFold(host, "localhost")) {
		return fmt.Errorf("--pprof-listen %q: only a loopback address", *pprofListen)
	}
	cfg, err := config.Resolve(fs, os.Getenv)
	if err != nil {
		return err
	}
	log := server.NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel)

	ln, err := net.Listen("tcp", *pprofListen)
	if err != nil {
		return fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go ps.Serve(ln)
	defer ps.Close()
	log.Info("pprof is listening", "url", "http://"+ln.Addr().String())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := server.New(cfg, server.Options{Out: os.Stderr})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Wait() }()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if serr := srv.Shutdown(sctx); err == nil {
		err = serr
	}
	return err
}
