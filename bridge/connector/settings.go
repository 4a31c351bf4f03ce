package connector

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// KindKey is the key of an app's connector block that names the connector
// kind ("scim", "webhook"...). DecodeSettings ignores it, so the rest of
// the block is the kind's settings.
const KindKey = "kind"

// DecodeSettings decodes an app's connector block, as the configuration
// loader parsed it from YAML, into out, a pointer to a kind's Settings
// struct with yaml tags. Keys the struct does not know are an error (a
// typo must not silently drop a setting); the "kind" key is skipped.
// Durations are written as Go durations ("30s", "1m30s").
func DecodeSettings(block map[string]any, out any) error {
	rest := make(map[string]any, len(block))
	for k, v := range block {
		if k != KindKey {
			rest[k] = v
		}
	}

	// Re-encoding to YAML lets the yaml tags, durations and the Secret
	// decoder apply exactly as they would to the file itself.
	raw, err := yaml.Marshal(rest)
	if err != nil {
		return fmt.Errorf("connector settings: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("connector settings: %w", err)
	}
	return nil
}
