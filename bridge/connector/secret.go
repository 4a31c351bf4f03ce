package connector

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret names where a credential lives: an environment variable or a file
// (a mounted Kubernetes or Docker secret, say). The credential itself is
// never written in the configuration, so a Secret is safe to log and print;
// its value is not.
//
// In YAML a Secret is a mapping with one key, `env` or `file`:
//
//	token: {env: SCIM_TOKEN}
//	client_secret: {file: /run/secrets/scim-client-secret}
//
// A plain string is rejected, so that a credential pasted into the file by
// mistake is refused rather than used.
type Secret struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// IsZero reports whether the secret names nothing.
func (s Secret) IsZero() bool { return s.Env == "" && s.File == "" }

// String names where the secret lives, never its value.
func (s Secret) String() string {
	switch {
	case s.Env != "":
		return "env:" + s.Env
	case s.File != "":
		return "file:" + s.File
	}
	return "none"
}

// Value reads the credential. Surrounding white space (the newline most
// secret files end with) is removed. It fails when the secret names both
// or neither source, when the variable is unset, the file is unreadable,
// or the value is empty; the error names the source, never the value.
func (s Secret) Value() (string, error) {
	var v string
	switch {
	case s.Env != "" && s.File != "":
		return "", errors.New("secret: set env or file, not both")
	case s.Env != "":
		got, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("secret: environment variable %s is not set", s.Env)
		}
		v = got
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("secret: read file: %w", err)
		}
		v = string(b)
	default:
		return "", errors.New("secret: no env or file given")
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("secret: %s is empty", s)
	}
	return v, nil
}

// UnmarshalYAML accepts only the mapping form, so a credential written
// inline is an error instead of a silently used value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a secret is {env: NAME} or {file: PATH}, "+
			"never the credential itself", n.Line)
	}
	var out Secret
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: secret %s must be a string", v.Line, k.Value)
		}
		switch k.Value {
		case "env":
			out.Env = v.Value
		case "file":
			out.File = v.Value
		default:
			return fmt.Errorf("line %d: unknown secret key %q (want env or file)",
				k.Line, k.Value)
		}
	}
	*s = out
	return nil
}
