package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/elimity-com/scim/schema"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/connector/scimclient"
	"github.com/scim-bridge/scim-bridge/bridge/connector/webhook"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/mappings"
	"github.com/scim-bridge/scim-bridge/scim"
	"github.com/scim-bridge/scim-bridge/state"
)

// connectorKinds is every connector kind this binary can provision with,
// by the name an app's connector block (or its catalog entry) gives.
func connectorKinds(log *slog.Logger) bridge.Kinds {
	return bridge.Kinds{
		scimclient.Kind: scimclient.Factory(scimclient.WithLogger(log)),
		webhook.Kind:    webhook.Factory(webhook.WithLogger(log)),
	}
}

// extensions are the custom User extension schemas of the configuration,
// in the two forms their users need: the SCIM endpoint's schema and the
// directory schema that mappings are checked against.
type extensions struct {
	scim      []schema.Schema
	directory *mappings.Directory
}

// loadExtensions reads every extension schema file. An error names the
// file at fault.
func loadExtensions(files []string) (extensions, error) {
	ext := extensions{directory: mappings.DefaultDirectory()}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return extensions{}, fmt.Errorf("read extension schema: %w", err)
		}
		s, err := scim.ParseExtension(raw)
		if err != nil {
			return extensions{}, fmt.Errorf("extension schema %s: %w", file, err)
		}
		if err := ext.directory.AddSchemaJSON(raw); err != nil {
			return extensions{}, fmt.Errorf("extension schema %s: %w", file, err)
		}
		ext.scim = append(ext.scim, s)
	}
	return ext, nil
}

// newEngine loads the catalog (built-in and the configuration's custom
// files) and builds the sync engine for the configured apps. Errors name
// the catalog file or the app at fault.
func newEngine(cfg config.Config, store state.Store, dir *mappings.Directory, log *slog.Logger,
	reg prometheus.Registerer) (*bridge.Engine, error) {
	cat, err := mappings.LoadCatalog(cfg.Catalog...)
	if err != nil {
		return nil, err
	}
	return bridge.New(bridge.Options{
		Store:     store,
		Catalog:   cat,
		Directory: dir,
		Apps:      cfg.Apps,
		Kinds:     connectorKinds(log),
		Logger:    log,
		Metrics:   reg,
		Tuning: bridge.Tuning{
			LeaseTTL: cfg.Sync.LeaseTTL, CallTimeout: cfg.Sync.CallTimeout,
			PollInterval: cfg.Sync.PollInterval, ClaimIdle: cfg.Sync.ClaimIdle,
			MaxAttempts: cfg.Sync.MaxAttempts,
			BackoffBase: cfg.Sync.BackoffBase, BackoffMax: cfg.Sync.BackoffMax,
		},
	})
}
