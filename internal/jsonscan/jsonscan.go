// Package jsonscan reads a few members out of a large JSON document without decoding the rest:
// it walks the document once, checking it is JSON as encoding/json's Valid does, and hands the
// caller the raw bytes of each member or element, which stay slices of the input (no copy).
// Slack's answers echo whole messages and its interactivity payloads carry the clicked message
// with all its blocks, of which the bot reads a handful of strings; encoding/json scans such a
// document twice (once to check it, once to decode it, skipped parts included) through its
// byte-at-a-time state machine, and allocates for every value it keeps.
//
// Is matches a key to a name as encoding/json matches a key to a struct field: in any case.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Is reports whether key names the member name, as encoding/json matches a key to a field's
// name (bytes.EqualFold: "ID", "Id" and "id" are the same member).
func Is(key []byte, name string) bool { return bytes.EqualFold(key, []byte(name)) }

// maxDepth is how deeply arrays and objects may nest, as in encoding/json.
const maxDepth = 10000

// ErrSyntax is the error for input that is not JSON.
var ErrSyntax = errors.New("jsonscan: invalid JSON")

// TypeError is a value of another kind than the caller reads (an object where a string is
// expected, say).
type TypeError struct{ Want, Got string }

func (e *TypeError) Error() string {
	return fmt.Sprintf("jsonscan: %s where %s was expected", e.Got, e.Want)
}

// Members calls f with the key and the raw value of each member of the object data, in order,
// after checking that data is one JSON value. null has no members (as encoding/json leaves a
// struct alone for null); another kind of value is a *TypeError. The key is the member's name
// as written between its quotes when it has no escapes, else its decoded form. An error from f
// stops the walk and is returned.
func Members(data []byte, f func(key, value []byte) error) error {
	i, done, err := open(data, '{', '}', "an object")
	if done || err != nil {
		return err
	}
	for {
		end, _ := str(data, i) // checked above
		key := data[i+1 : end-1]
		if hasEscape(key) {
			var k string
			if err := json.Unmarshal(data[i:end], &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		vend, _ := value(data, i, 1)
		if err := f(key, data[i:vend]); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// Elements calls f with each element of the array data, after checking that data is one JSON
// value; null has none, another kind of value is a *TypeError.
func Elements(data []byte, f func(value []byte) error) error {
	i, done, err := open(data, '[', ']', "an array")
	if done || err != nil {
		return err
	}
	for {
		end, _ := value(data, i, 1)
		if err := f(data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if data[i] == ']' {
			return nil
		}
		i = skipSpace(data, i+1)
	}
}

// open checks that data is one JSON value and, when it is an object or array opened by
// opener, returns the index of its first member or element; done when it is null or empty.
// Another kind of value is a *TypeError naming want.
func open(data []byte, opener, closer byte, want string) (i int, done bool, err error) {
	i, err = value(data, skipSpace(data, 0), 0)
	if err != nil {
		return 0, true, err
	}
	if skipSpace(data, i) != len(data) {
		return 0, true, ErrSyntax
	}
	i = skipSpace(data, 0)
	switch data[i] {
	case 'n':
		return 0, true, nil
	case opener:
	default:
		return 0, true, &TypeError{Want: want, Got: kind(data[i])}
	}
	i = skipSpace(data, i+1)
	return i, data[i] == closer, nil
}

// String decodes a string value; null is "".
func String(v []byte) (string, error) {
	switch {
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !hasEscape(v[1:len(v)-1]):
		return string(v[1 : len(v)-1]), nil
	case len(v) > 0 && v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case string(v) == "null":
		return "", nil
	case len(v) == 0:
		return "", ErrSyntax
	}
	return "", &TypeError{Want: "a string", Got: kind(v[0])}
}

// Bool decodes a boolean value; null is false.
func Bool(v []byte) (bool, error) {
	switch string(v) {
	case "true":
		return true, nil
	case "false", "null":
		return false, nil
	case "":
		return false, ErrSyntax
	}
	return false, &TypeError{Want: "a boolean", Got: kind(v[0])}
}

func kind(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func hasEscape(s []byte) bool {
	for _, c := range s {
		if c == '\\' {
			return true
		}
	}
	return false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the JSON value starting at data[i] (no space before it) and returns where it
// ends.
func value(data []byte, i, depth int) (int, error) {
	if i >= len(data) {
		return 0, ErrSyntax
	}
	switch c := data[i]; {
	case c == '"':
		return str(data, i)
	case c == '{':
		if depth++; depth > maxDepth {
			return 0, ErrSyntax
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(data) || data[i] != '"' {
				return 0, ErrSyntax
			}
			end, err := str(data, i)
			if err != nil {
				return 0, err
			}
			i = skipSpace(data, end)
			if i >= len(data) || data[i] != ':' {
				return 0, ErrSyntax
			}
			if i, err = value(data, skipSpace(data, i+1), depth); err != nil {
				return 0, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return 0, ErrSyntax
			}
			if data[i] == '}' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return 0, ErrSyntax
			}
			i = skipSpace(data, i+1)
		}
	case c == '[':
		if depth++; depth > maxDepth {
			return 0, ErrSyntax
		}
		i = skipSpace(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = value(data, i, depth); err != nil {
				return 0, err
			}
			i = skipSpace(data, i)
			if i >= len(data) {
				return 0, ErrSyntax
			}
			if data[i] == ']' {
				return i + 1, nil
			}
			if data[i] != ',' {
				return 0, ErrSyntax
			}
			i = skipSpace(data, i+1)
		}
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		return number(data, i)
	}
	return 0, ErrSyntax
}

func literal(data []byte, i int, lit string) (int, error) {
	if len(data)-i < len(lit) || string(data[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// plain marks the bytes a string holds as they are: not the quote, the backslash or a control
// character.
var plain = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 0x20 && c != '"' && c != '\\'
	}
	return t
}()

// str checks the string starting at data[i] (its opening quote) and returns where it ends.
func str(data []byte, i int) (int, error) {
	for i++; i < len(data); i++ {
		for i < len(data) && plain[data[i]] {
			i++
		}
		if i == len(data) {
			break
		}
		switch c := data[i]; {
		case c == '"':
			return i + 1, nil
		case c < 0x20:
			return 0, ErrSyntax
		case c == '\\':
			if i++; i >= len(data) {
				return 0, ErrSyntax
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(data)-i < 5 {
					return 0, ErrSyntax
				}
				for _, h := range data[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return 0, ErrSyntax
					}
				}
				i += 4
			default:
				return 0, ErrSyntax
			}
		}
	}
	return 0, ErrSyntax
}

func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}

// number checks a number (JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
func number(data []byte, i int) (int, error) {
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = digits(data, i+1)
	default:
		return 0, ErrSyntax
	}
	if i < len(data) && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return 0, ErrSyntax
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return 0, ErrSyntax
		}
		i = j
	}
	return i, nil
}
