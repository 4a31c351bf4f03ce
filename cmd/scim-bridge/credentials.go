package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/scim-bridge/scim-bridge/auth"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/state"
)

// credentials are the verifiers of the HTTP edges, plus what serve prints
// when it generated them itself.
type credentials struct {
	scim  *auth.Verifier
	admin *auth.Verifier
	// metrics accepts every admin JWT and the configured metrics secrets.
	metrics *auth.Verifier
	// generated is set when no credentials were configured and serve made
	// its own; it holds the SCIM secret and the admin signing key.
	generated *bootstrap
}

// bootstrap holds credentials generated on the first start of a bridge that
// has none configured, so that `make run` works with nothing to set up.
// They live in the store, so every replica and every restart agrees.
type bootstrap struct {
	SCIMToken   string `json:"scim_token"`
	AdminSecret []byte `json:"admin_secret"`
}

const (
	bootstrapBucket = "bootstrap"
	bootstrapKey    = "credentials"
	bootstrapKeyID  = "bootstrap"
)

// loadCredentials builds the SCIM and admin verifiers from the
// configuration; for an edge with nothing configured it uses (and on the
// very first start creates) the generated credentials kept in the store.
func loadCredentials(ctx context.Context, cfg config.Config, store state.Store) (credentials, error) {
	scimCfg := auth.Config{Realm: "scim-bridge"}
	for _, tok := range cfg.SCIM.Tokens {
		scimCfg.SecretHashes = append(scimCfg.SecretHashes, auth.HashSecret(tok))
	}
	scimCfg.SecretHashes = append(scimCfg.SecretHashes, cfg.SCIM.TokenHashes...)
	keys, err := jwtKeys(cfg.SCIM.JWT)
	if err != nil {
		return credentials{}, fmt.Errorf("scim jwt: %w", err)
	}
	scimCfg.Keys = keys

	adminCfg := auth.Config{Realm: "scim-bridge-admin"}
	if adminCfg.Keys, err = jwtKeys(cfg.Admin.JWT); err != nil {
		return credentials{}, fmt.Errorf("admin jwt: %w", err)
	}

	var creds credentials
	if len(scimCfg.SecretHashes) == 0 && len(scimCfg.Keys) == 0 || len(adminCfg.Keys) == 0 {
		b, err := loadBootstrap(ctx, store)
		if err != nil {
			return credentials{}, err
		}
		creds.generated = &b
		if len(scimCfg.SecretHashes) == 0 && len(scimCfg.Keys) == 0 {
			scimCfg.SecretHashes = []string{auth.HashSecret(b.SCIMToken)}
		}
		if len(adminCfg.Keys) == 0 {
			adminCfg.Keys = []auth.Key{{ID: bootstrapKeyID, Algorithm: auth.AlgHS256, Secret: b.AdminSecret}}
		}
	}
	if creds.scim, err = auth.New(scimCfg); err != nil {
		return credentials{}, err
	}
	if creds.admin, err = auth.New(adminCfg); err != nil {
		return credentials{}, err
	}
	metricsCfg := auth.Config{Realm: "scim-bridge-metrics", Keys: adminCfg.Keys,
		SecretHashes: cfg.Metrics.TokenHashes}
	for _, tok := range cfg.Metrics.Tokens {
		metricsCfg.SecretHashes = append(metricsCfg.SecretHashes, auth.HashSecret(tok))
	}
	if creds.metrics, err = auth.New(metricsCfg); err != nil {
		return credentials{}, fmt.Errorf("metrics: %w", err)
	}
	return creds, nil
}

// loadBootstrap returns the generated credentials, creating them when the
// store has none. Two replicas starting at once agree: only one create
// succeeds and the other reads what it wrote.
func loadBootstrap(ctx context.Context, store state.Store) (bootstrap, error) {
	for {
		rec, err := store.GetRecord(ctx, bootstrapBucket, bootstrapKey)
		if err == nil {
			var b bootstrap
			if err := json.Unmarshal(rec.Data, &b); err != nil {
				return bootstrap{}, fmt.Errorf("read generated credentials: %w", err)
			}
			return b, nil
		}
		if !errors.Is(err, state.ErrNotFound) {
			return bootstrap{}, fmt.Errorf("read generated credentials: %w", err)
		}

		b := bootstrap{SCIMToken: randomToken(32), AdminSecret: randomBytes(32)}
		data, err := json.Marshal(b)
		if err != nil {
			return bootstrap{}, err
		}
		_, err = store.PutRecord(ctx, bootstrapBucket, bootstrapKey, data, state.AbsentVersion)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, state.ErrConflict) {
			return bootstrap{}, fmt.Errorf("save generated credentials: %w", err)
		}
	}
}

// adminToken mints an owner token with the generated admin key.
func (b *bootstrap) adminToken(now time.Time, ttl time.Duration) (string, error) {
	return auth.Mint(
		auth.SigningKey{ID: bootstrapKeyID, Algorithm: auth.AlgHS256, Secret: b.AdminSecret},
		auth.Claims{Subject: "bootstrap-admin", Role: "owner", TTL: ttl},
		now,
	)
}

// jwtKeys reads the key material the configuration points at.
func jwtKeys(in []config.JWTKey) ([]auth.Key, error) {
	var out []auth.Key
	for _, k := range in {
		key := auth.Key{ID: k.ID, Algorithm: k.Algorithm, Issuer: k.Issuer, Audience: k.Audience}
		switch {
		case k.SecretEnv != "":
			v := os.Getenv(k.SecretEnv)
			if v == "" {
				return nil, fmt.Errorf("key %s: environment variable %s is empty", k.ID, k.SecretEnv)
			}
			key.Secret = []byte(v)
		case k.Secret != "":
			key.Secret = []byte(k.Secret)
		case k.KeyFile != "":
			pem, err := os.ReadFile(k.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("key %s: %w", k.ID, err)
			}
			key.PublicKeyPEM = pem
		}
		out = append(out, key)
	}
	return out, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	// crypto/rand.Read never fails on the platforms Go supports.
	_, _ = rand.Read(b)
	return b
}

func randomToken(n int) string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(n))
}
