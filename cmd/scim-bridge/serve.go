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
	"github.com/spf13/cobra"

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
// accepting, let in-flight requests finish, stop the engine, close the store.
func serve(ctx context.Context, cfg config.Config, out, logOut io.Writer) error {
	log, err := telemetry.NewLogger(logOut, cfg.Log.Level, cfg.Log.Format)
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
		return err
	}

	reg := telemetry.NewRegistry()
	httpMetrics := telemetry.NewHTTPMetrics(reg)
	scimServer, err := scim.New(scim.Config{
		Store:             store,
		Auth:              creds.scim,
		Logger:            log,
		BaseURL:           baseURL,
		MaxBulkOperations: cfg.SCIM.MaxBulkOperations,
		MaxPayloadBytes:   cfg.SCIM.MaxPayloadBytes,
		MaxFilterResults:  cfg.SCIM.MaxFilterResults,
		Instrument:        httpMetrics.Instrument,
	})
	if err != nil {
		return err
	}

	router := mux.NewRouter()
	router.Handle("/healthz", httpMetrics.Instrument("healthz", healthz())).
		Methods(http.MethodGet, http.MethodHead)
	router.Handle("/readyz", httpMetrics.Instrument("readyz", readyz(store))).
		Methods(http.MethodGet, http.MethodHead)
	router.Handle("/metrics", telemetry.Handler(reg)).Methods(http.MethodGet)
	router.PathPrefix("/scim/").Handler(scimServer.Handler())

	srv := &http.Server{
		Handler:           router,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", ln.Addr().String(), "store", storeKind(cfg.Store))
	if err := printWelcome(out, baseURL, creds); err != nil {
		return err
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// printWelcome tells the person who started the server where it is and,
// when serve generated the credentials, how to call it.
func printWelcome(out io.Writer, baseURL string, creds credentials) error {
	scimURL := baseURL + "/scim/v2"
	fmt.Fprintf(out, "scim-bridge is serving on %s\n\n", baseURL)
	fmt.Fprintf(out, "  SCIM base URL  %s\n", scimURL)
	fmt.Fprintf(out, "  admin API      %s/admin/v1\n", baseURL)
	if creds.generated == nil {
		fmt.Fprintln(out, "\n  credentials: as configured")
		return nil
	}
	admin, err := creds.generated.adminToken(time.Now(), adminTokenTTL)
	if err != nil {
		return fmt.Errorf("mint admin token: %w", err)
	}
	fmt.Fprintf(out, "  SCIM token     %s\n", creds.generated.SCIMToken)
	fmt.Fprintf(out, "  admin token    %s\n", admin)
	fmt.Fprintf(out, "                 (role owner, valid for %d hours)\n\n", int(adminTokenTTL.Hours()))
	fmt.Fprintln(out, "  These credentials were generated for this store because none are configured;")
	fmt.Fprintln(out, "  set scim.tokens and admin.jwt (or BRIDGE_SCIM_TOKENS, BRIDGE_ADMIN_JWT_SECRET)")
	fmt.Fprintln(out, "  before exposing the bridge. Try:")
	fmt.Fprintf(out, "\n  curl -H 'Authorization: Bearer %s' %s/Users\n\n", creds.generated.SCIMToken, scimURL)
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
