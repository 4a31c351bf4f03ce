package bridge

import "github.com/scim-bridge/scim-bridge/bridge/connector"

// Factory builds a connector from an app's connector block as the
// configuration holds it (including the "kind" key, which the factory may
// ignore). It reads credentials from the environment or files the block
// names and must never log them.
type Factory func(settings map[string]any) (connector.Connector, error)

// Kinds maps a connector kind name ("scim", "webhook"...) to its factory.
// The command that starts the server fills it explicitly, so which kinds a
// binary supports reads in one place.
type Kinds map[string]Factory
