package attr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// value = string / number / true / false / null
func (p *parser) value() (any, error) {
	c := p.peek()
	switch {
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	start := p.pos
	w := p.word()
	switch strings.ToLower(w) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	p.pos = start
	if p.eof() {
		return nil, p.errorf("expected a value, found the end")
	}
	return nil, p.errorf("expected a value (a quoted string, number, true, false "+
		"or null), found %q", p.rest())
}

// str reads a JSON string. Raw control characters are tolerated and
// invalid UTF-8 becomes U+FFFD, so every string has one canonical form.
func (p *parser) str() (string, error) {
	start := p.pos
	p.pos++
	escaped := false
	for !p.eof() {
		switch p.src[p.pos] {
		case '\\':
			escaped = true
			p.pos += 2
			continue
		case '"':
			body := p.src[start+1 : p.pos]
			p.pos++
			if !escaped {
				return strings.ToValidUTF8(body, "\uFFFD"), nil
			}
			s, err := unescape(body)
			if err != nil {
				p.pos = start
				return "", p.errorf("malformed string: %v", err)
			}
			return s, nil
		}
		p.pos++
	}
	p.pos = start
	return "", p.errorf("unterminated string")
}

// unescape decodes the JSON escapes of a string body.
func unescape(body string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", fmt.Errorf("dangling backslash")
		}
		switch body[i] {
		case '"', '\\', '/':
			b.WriteByte(body[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, err := unicodeEscape(body[i+1:])
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
			i += n
		default:
			return "", fmt.Errorf("unknown escape \\%c", body[i])
		}
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD"), nil
}

// unicodeEscape decodes the hex digits after \u, joining a surrogate pair
// when a second \u escape follows; it returns the bytes consumed.
func unicodeEscape(s string) (rune, int, error) {
	r, ok := hex4(s)
	if !ok {
		return 0, 0, fmt.Errorf("malformed \\u escape")
	}
	if !utf16.IsSurrogate(r) {
		return r, 4, nil
	}
	if len(s) >= 10 && s[4] == '\\' && s[5] == 'u' {
		if r2, ok := hex4(s[6:]); ok {
			if joined := utf16.DecodeRune(r, r2); joined != utf8.RuneError {
				return joined, 10, nil
			}
		}
	}
	return utf8.RuneError, 4, nil
}

func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// number reads a JSON number.
func (p *parser) number() (float64, error) {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	digits := p.digits()
	if digits == 0 {
		return 0, p.errorf("malformed number %q", p.src[start:p.pos])
	}
	if p.peek() == '.' {
		p.pos++
		if p.digits() == 0 {
			return 0, p.errorf("malformed number %q", p.src[start:p.pos])
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if p.digits() == 0 {
			return 0, p.errorf("malformed number %q", p.src[start:p.pos])
		}
	}
	text := p.src[start:p.pos]
	if !p.eof() && isWordByte(p.peek()) {
		return 0, p.errorf("malformed number %q", text+p.word())
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return 0, p.errorf("number %s is out of range", text)
	}
	return f, nil
}

func (p *parser) digits() int {
	n := 0
	for !p.eof() && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}
