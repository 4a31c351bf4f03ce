package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/internal/telemetry"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
)

type serveFlags struct {
	config string
	addr   string
	store  string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the SCIM endpoint, the admin API and the sync engine",
		Long: `Serve the SCIM endpoint, the admin API and the sync engine.

Settings come from the YAML file given with --config, then from BRIDGE_*
environment variables, then from these flags. With no credentials configured,
serve generates a SCIM token and an admin signing key once, keeps them in the
data directory and prints them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(f.config, os.Getenv)
			if err != nil {
				return err
			}
			if f.addr != "" {
				cfg.Addr = f.addr
			}
			if f.store != "" {
				cfg.Store = f.store
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&f.config, "config", "", "YAML configuration `file`")
	cmd.Flags().StringVar(&f.addr, "addr", "", "listen address (default "+config.DefaultAddr+", env BRIDGE_ADDR)")
	cmd.Flags().StringVar(&f.store, "store", "",
		"bolt:PATH or a Redis URL (default "+config.DefaultStore+", env BRIDGE_STORE)")
	return cmd
}

// serve runs the server until ctx ends, then shuts down in order: stop
// accepting and let in-flight requests finish, let the sync engine hand
// back its work, close the store.
func serve(ctx context.Context, cfg config.Config, out, logOut io.Writer) error {
	log, err := telemetry.NewLogger(logOut, cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	ext, err := loadExtensions(cfg.SCIM.Extensions)
	if err != nil {
		return err
	}

	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("close store", "err", err)
		}
	}()

	reg := telemetry.NewRegistry()
	engine, err := newEngine(cfg, store, ext.directory, log, reg)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}

	creds, err := loadCredentials(ctx, cfg, store)
	if err != nil {
		ln.Close()
		return err
	}
	if creds.generated != nil {
		log.Warn("serving with generated development credentials; configure scim and admin keys "+
			"before exposing the bridge", "store", storeKind(cfg.Store))
	}

	handler, err := routes(cfg, store, engine, creds, ext, baseURL, reg, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "store", storeKind(cfg.Store),
		"apps", len(cfg.Apps))
	if err := printWelcome(out, baseURL, creds); err != nil {
		ln.Close()
		return err
	}
	return run(ctx, srv, ln, engine, cfg.ShutdownTimeout, log)
}

// routes mounts the SCIM endpoint, the admin API and the probes.
func routes(cfg config.Config, store state.Store, engine *bridge.Engine, creds credentials,
	ext extensions, baseURL string, reg *prometheus.Registry, log *slog.Logger) (http.Handler, error) {
	httpMetrics := telemetry.NewHTTPMetrics(reg)
	scimServer, err := scim.New(scim.Config{
		Store:             store,
		Auth:              creds.scim,
		Logger:            log,
		BaseURL:           baseURL,
		Extensions:        ext.scim,
		MaxBulkOperations: cfg.SCIM.MaxBulkOperations,
		MaxPayloadBytes:   cfg.SCIM.MaxPayloadBytes,
		MaxFilterResults:  cfg.SCIM.MaxFilterResults,
		Instrument:        httpMetrics.Instrument,
	})
	if err != nil {
		return nil, err
	}
	adminAPI := admin.New(admin.Options{Engine: engine, Auth: creds.admin, Logger: log})

	router := mux.NewRouter()
	router.Handle("/healthz", httpMetrics.Instrument("healthz", healthz())).
		Methods(http.MethodGet, http.MethodHead)
	router.Handle("/readyz", httpMetrics.Instrument("readyz", readyz(store))).
		Methods(http.MethodGet, http.MethodHead)
	// Metrics name the apps and their traffic: they need an admin token or
	// a metrics secret like everything else but the two probes.
	router.Handle("/metrics", creds.metrics.Middleware(nil)(telemetry.Handler(reg))).
		Methods(http.MethodGet)
	router.PathPrefix("/scim/").Handler(scimServer.Handler())
	router.PathPrefix(admin.Prefix + "/").Handler(httpMetrics.Instrument("admin", adminAPI))
	return router, nil
}

// run serves HTTP and runs the sync engine until ctx ends or either fails,
// then stops them in order: the HTTP server first (in-flight requests get
// timeout to finish), then the engine, so no request meets a stopped
// engine. The caller closes the store after run returns.
func run(ctx context.Context, srv *http.Server, ln net.Listener, engine *bridge.Engine,
	timeout time.Duration, log *slog.Logger) error {
	engineCtx, stopEngine := context.WithCancel(ctx)
	defer stopEngine()
	engineDone := make(chan error, 1)
	go func() { engineDone <- engine.Run(engineCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	var serveErr, engineErr error
	serving, running := true, true
	select {
	case serveErr = <-serveDone:
		serving = false
	case engineErr = <-engineDone:
		running = false
		if engineErr == nil {
			engineErr = errors.New("stopped before the server")
		}
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", timeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var shutdownErr error
	if err := srv.Shutdown(sctx); err != nil {
		shutdownErr = fmt.Errorf("shutdown: %w", err)
		_ = srv.Close()
	}
	if serving {
		if err := <-serveDone; !errors.Is(err, http.ErrServerClosed) {
			serveErr = err
		}
	}
	stopEngine()
	if running {
		engineErr = <-engineDone
	}

	var errs []error
	if serveErr != nil {
		errs = append(errs, fmt.Errorf("serve: %w", serveErr))
	}
	if engineErr != nil {
		errs = append(errs, fmt.Errorf("sync engine: %w", engineErr))
	}
	if err := errors.Join(append(errs, shutdownErr)...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// printWelcome tells the person who started the server where it is and,
// for each edge whose credentials serve generated, how to call it. A
// generated credential that the configuration replaced is not printed.
func printWelcome(out io.Writer, baseURL string, creds credentials) error {
	scimURL := baseURL + "/scim/v2"
	fmt.Fprintf(out, "scim-bridge is serving on %s\n\n", baseURL)
	fmt.Fprintf(out, "  SCIM base URL  %s\n", scimURL)
	fmt.Fprintf(out, "  admin API      %s%s\n", baseURL, admin.Prefix)

	var scimToken, adminToken string
	if g := creds.generated; g != nil {
		if _, err := creds.scim.Verify("Bearer " + g.SCIMToken); err == nil {
			scimToken = g.SCIMToken
		}
		tok, err := g.adminToken(time.Now(), adminTokenTTL)
		if err != nil {
			return fmt.Errorf("mint admin token: %w", err)
		}
		if _, err := creds.admin.Verify("Bearer " + tok); err == nil {
			adminToken = tok
		}
	}
	if scimToken == "" && adminToken == "" {
		fmt.Fprintln(out, "\n  credentials: as configured")
		return nil
	}

	if scimToken != "" {
		fmt.Fprintf(out, "  SCIM token     %s\n", scimToken)
	}
	if adminToken != "" {
		fmt.Fprintf(out, "  admin token    %s\n", adminToken)
		fmt.Fprintf(out, "                 (role owner, valid for %d hours)\n",
			int(adminTokenTTL.Hours()))
	}
	fmt.Fprintln(out, "\n  These credentials were generated for this store because none are configured;")
	fmt.Fprintln(out, "  set scim.tokens and admin.jwt (or BRIDGE_SCIM_TOKENS, BRIDGE_ADMIN_JWT_SECRET)")
	fmt.Fprintln(out, "  before exposing the bridge. Try:")
	fmt.Fprintln(out)
	if scimToken != "" {
		fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' %s/Users\n", scimToken, scimURL)
	}
	if adminToken != "" {
		fmt.Fprintf(out, "  curl -H 'Authorization: Bearer %s' %s%s/apps\n", adminToken, baseURL,
			admin.Prefix)
		fmt.Fprintf(out, "  scim-bridge sync --url %s --token %s --app APP\n", baseURL, adminToken)
	}
	fmt.Fprintln(out)
	return nil
}

// adminTokenTTL is how long the printed development admin token lasts.
const adminTokenTTL = 24 * time.Hour

// healthz answers as long as the process serves HTTP at all.
func healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
}

// readyz answers 200 only while the store answers, so a load balancer stops
// sending writes that could not be made durable.
func readyz(store state.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := store.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "store unavailable\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
}
