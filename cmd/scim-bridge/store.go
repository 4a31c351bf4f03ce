package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/state"
	"github.com/scim-bridge/scim-bridge/state/boltstore"
	"github.com/scim-bridge/scim-bridge/state/redisstore"
)

// openStore opens the backend the store setting names.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (state.Store, error) {
	kind, target, err := config.ParseStore(cfg.Store)
	if err != nil {
		return nil, err
	}
	switch kind {
	case config.StoreBolt:
		st, err := boltstore.Open(target, boltstore.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open embedded store: %w", err)
		}
		return st, nil
	case config.StoreRedis:
		st, err := redisstore.Open(ctx, target, redisstore.Options{Org: cfg.Organization, Logger: log})
		if err != nil {
			// The URL may hold a password: name the backend, not the URL.
			return nil, fmt.Errorf("open redis store: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("unknown store kind %q", kind)
}

// storeKind names the backend for logs without the URL, which may hold a
// password.
func storeKind(s string) string {
	kind, _, err := config.ParseStore(s)
	if err != nil {
		return "invalid"
	}
	return string(kind)
}
