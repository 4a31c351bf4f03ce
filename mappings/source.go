package mappings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML implements yaml.Unmarshaler: a bare string is an attribute,
// a map holds exactly one of attribute, value or expression.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	*s = Source{}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return fmt.Errorf("line %d: a bare %s is read as a profile attribute path; "+
				"write {value: %s} to set a hardcoded value", n.Line, n.Value, n.Value)
		}
		s.Attribute = n.Value
		return nil
	case yaml.MappingNode:
	default:
		return fmt.Errorf("line %d: a source is a profile attribute path or a map "+
			"with one of attribute, value, expression", n.Line)
	}

	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		switch key.Value {
		case "attribute", "expression":
			if val.Kind != yaml.ScalarNode || val.ShortTag() != "!!str" || val.Value == "" {
				return fmt.Errorf("line %d: %s must be a non-empty string", val.Line, key.Value)
			}
			if key.Value == "attribute" {
				s.Attribute = val.Value
			} else {
				s.Expression = val.Value
			}
		case "value":
			v, err := yamlValue(val)
			if err != nil {
				return err
			}
			s.Value = v
		default:
			return fmt.Errorf("line %d: unknown key %q (expected attribute, value or expression)",
				key.Line, key.Value)
		}
	}
	if s.count() != 1 {
		return fmt.Errorf("line %d: set exactly one of attribute, value, expression", n.Line)
	}
	return nil
}

// MarshalYAML implements yaml.Marshaler, writing an attribute as a bare
// string and the other kinds as a one-key map.
func (s Source) MarshalYAML() (any, error) { return s.node() }

func (s Source) node() (*yaml.Node, error) {
	switch s.Kind() {
	case SourceAttribute:
		return strNode(s.Attribute), nil
	case SourceExpression:
		return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			strNode("expression"), strNode(s.Expression)}}, nil
	case SourceValue:
		v, err := valueNode(s.Value)
		if err != nil {
			return nil, err
		}
		return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle,
			Content: []*yaml.Node{strNode("value"), v}}, nil
	}
	return nil, errors.New("the source is empty")
}

// UnmarshalJSON implements json.Unmarshaler with the same rules as the YAML
// form; numbers in a value are kept as json.Number.
func (s *Source) UnmarshalJSON(data []byte) error {
	*s = Source{}
	var path string
	if err := json.Unmarshal(data, &path); err == nil {
		if path == "" {
			return errors.New("an attribute path must not be empty")
		}
		s.Attribute = path
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var raw struct {
		Attribute  string `json:"attribute"`
		Value      any    `json:"value"`
		Expression string `json:"expression"`
	}
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("a source is a profile attribute path or an object "+
			"with one of attribute, value, expression: %w", err)
	}
	v, err := jsonValue(raw.Value)
	if err != nil {
		return err
	}
	*s = Source{Attribute: raw.Attribute, Value: v, Expression: raw.Expression}
	if s.count() != 1 {
		return errors.New("set exactly one of attribute, value, expression")
	}
	return nil
}

// MarshalJSON implements json.Marshaler. Unlike YAML, JSON always uses the
// object form, which programs find easier to read.
func (s Source) MarshalJSON() ([]byte, error) {
	type plain Source
	return json.Marshal(plain(s))
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// yamlValue reads a hardcoded value: a scalar or a list of scalars.
func yamlValue(n *yaml.Node) (any, error) {
	if n.Kind != yaml.SequenceNode {
		v, err := yamlScalar(n)
		if err == nil && v == nil {
			err = fmt.Errorf("line %d: value must not be null; leave the field out "+
				"to leave it unmapped", n.Line)
		}
		return v, err
	}
	list := make([]any, 0, len(n.Content))
	for _, item := range n.Content {
		v, err := yamlScalar(item)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, nil
}

// yamlScalar converts a YAML scalar to a JSON-like value, keeping numbers as
// json.Number with the digits written so that ids longer than a float64 can
// hold survive.
func yamlScalar(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("line %d: expected a string, number or boolean", n.Line)
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int", "!!float":
		return yamlNumber(n)
	case "!!str":
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unsupported value %s %q", n.Line, n.ShortTag(), n.Value)
}

func yamlNumber(n *yaml.Node) (any, error) {
	if json.Valid([]byte(n.Value)) {
		return json.Number(n.Value), nil
	}
	// Forms JSON lacks (0x1F, 1_000, .5, .inf) are decoded by YAML first.
	var f float64
	if err := n.Decode(&f); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	num, ok := formatNumber(f)
	if !ok {
		return nil, fmt.Errorf("line %d: %s is not a finite number", n.Line, n.Value)
	}
	return json.Number(num), nil
}

// valueNode renders a hardcoded value back to YAML.
func valueNode(v any) (*yaml.Node, error) {
	if list, ok := v.([]any); ok {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, item := range list {
			n, err := valueNode(item)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, n)
		}
		return seq, nil
	}
	switch t := v.(type) {
	case string:
		return strNode(t), nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	}
	if f, ok := toFloat(v); ok {
		num, finite := formatNumber(f)
		if !finite {
			return nil, fmt.Errorf("%v is not a finite number", v)
		}
		return valueNode(json.Number(num))
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// jsonValue checks a hardcoded value decoded from JSON: scalars or a list of
// them.
func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case nil, string, bool, json.Number:
		return v, nil
	case []any:
		for _, item := range t {
			switch item.(type) {
			case string, bool, json.Number:
			default:
				return nil, errors.New("a value list may hold only strings, numbers and booleans")
			}
		}
		return v, nil
	}
	return nil, errors.New("value must be a string, number, boolean or a list of them")
}
