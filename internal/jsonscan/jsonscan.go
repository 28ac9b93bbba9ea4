// Package jsonscan reads a few members out of a large JSON document without decoding the rest:
// it walks the document once, checking it is JSON as encoding/json's Valid does, and hands the
// caller the raw bytes of each member or element, which stay slices of the input (no copy).
// Slack's answers echo whole messages and its interactivity payloads carry the clicked message
// with all its blocks, of which the bot reads a handful of strings; encoding/json scans such a
// document twice (once to check it, once to decode it, skipped parts included) through its
// byte-at-a-time state machine, and allocates for every value it keeps.
//
// Members and Elements check the bytes they are given, nested values included, every time: to
// read inside a member's value, walk the Values that Object and Array hand out, which belong to a
// document checked once.
//
// Is matches a key to a name as encoding/json matches a key to a struct field: in any case.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// Is reports whether key names the member name, as encoding/json matches a key to a field's
// name (bytes.EqualFold: "ID", "Id" and "id" are the same member).
func Is(key []byte, name string) bool {
	if len(key) > 0 && len(name) > 0 {
		if a, b := key[0], name[0]; a|b < utf8.RuneSelf && a|0x20 != b|0x20 {
			return false // two ASCII characters first, not the same letter: most keys end here
		}
	}
	if len(key) != len(name) {
		// a letter of another length folding to an ASCII one (K, the Kelvin sign, is k; ſ is
		// s) makes the key longer: an ASCII key of another length is another name
		return len(key) > len(name) && !isASCII(key) && bytes.EqualFold(key, []byte(name))
	}
	for i := range len(key) {
		a, b := key[i], name[i]
		if a == b {
			continue
		}
		if a|b >= utf8.RuneSelf {
			return bytes.EqualFold(key, []byte(name))
		}
		if l := a | 0x20; l < 'a' || l > 'z' || l != b|0x20 {
			return false // not the same letter in another case
		}
	}
	return true
}

func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

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
	return Object(data, func(key []byte, v Value) error { return f(key, v.raw) })
}

// Elements calls f with each element of the array data, after checking that data is one JSON
// value; null has none, another kind of value is a *TypeError.
func Elements(data []byte, f func(value []byte) error) error {
	return Array(data, func(v Value) error { return f(v.raw) })
}

// Object is Members handing out each member's value as a Value, whose own walks need no check.
func Object(data []byte, f func(key []byte, v Value) error) error {
	var e ends
	i, done, err := open(data, '{', '}', "an object", &e)
	if done || err != nil {
		return err
	}
	return members(data, i, &e, f)
}

// Array is Elements handing out each element as a Value.
func Array(data []byte, f func(v Value) error) error {
	var e ends
	i, done, err := open(data, '[', ']', "an array", &e)
	if done || err != nil {
		return err
	}
	return elements(data, i, &e, f)
}

// Value is a member's value or an element that Object, Array or a Value's walk handed out: part
// of a document already checked, so walking it checks nothing again (where Members on its raw
// bytes would check them all again). The zero Value is null.
type Value struct{ raw []byte }

// Raw is the value's JSON, a slice of the document.
func (v Value) Raw() []byte { return v.raw }

// Members is Object for a value already checked.
func (v Value) Members(f func(key []byte, v Value) error) error {
	i, done, err := enter(v.raw, 0, '{', '}', "an object")
	if done || err != nil {
		return err
	}
	return members(v.raw, i, nil, f)
}

// Elements is Array for a value already checked.
func (v Value) Elements(f func(v Value) error) error {
	i, done, err := enter(v.raw, 0, '[', ']', "an array")
	if done || err != nil {
		return err
	}
	return elements(v.raw, i, nil, f)
}

// members walks the members of the checked object data from its first member at data[i]; e
// notes where the first values end (nil: none noted).
func members(data []byte, i int, e *ends, f func(key []byte, v Value) error) error {
	for k := 0; ; k++ { // data is JSON: the walk only finds where each part ends
		end := skipString(data, i)
		key := data[i+1 : end-1]
		if hasEscape(key) {
			var k string
			if err := json.Unmarshal(data[i:end], &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		i = skipSpace(data, skipSpace(data, end)+1) // past the colon
		vend := e.of(k, data, i)
		if err := f(key, Value{data[i:vend]}); err != nil {
			return err
		}
		i = skipSpace(data, vend)
		if data[i] == '}' {
			return nil
		}
		i = skipSpace(data, i+1) // past the comma
	}
}

// elements walks the elements of the checked array data as members walks an object's members.
func elements(data []byte, i int, e *ends, f func(v Value) error) error {
	for k := 0; ; k++ {
		end := e.of(k, data, i)
		if err := f(Value{data[i:end]}); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if data[i] == ']' {
			return nil
		}
		i = skipSpace(data, i+1)
	}
}

// ends is where the first members' (or elements') values of the object (or array) open
// checked end, noted by the check so that Members and Elements need not look for them again.
type ends struct {
	n  int
	at [32]int
}

// note notes that the next member's value ends at i.
func (e *ends) note(i int) {
	if e != nil && e.n < len(e.at) {
		e.at[e.n] = i
		e.n++
	}
}

// of is where the value of member k, starting at data[i], ends.
func (e *ends) of(k int, data []byte, i int) int {
	if e != nil && k < e.n {
		return e.at[k]
	}
	return skip(data, i)
}

// open checks that data is one JSON value and, when it is an object or array opened by
// opener, returns the index of its first member or element; done when it is null or empty.
// Another kind of value is a *TypeError naming want. e notes where the first members' (or
// elements') values end.
func open(data []byte, opener, closer byte, want string, e *ends) (i int, done bool, err error) {
	i = skipSpace(data, 0)
	var end int
	switch {
	case i < len(data) && data[i] == '{':
		end, err = object(data, i, 1, e)
	case i < len(data) && data[i] == '[':
		end, err = array(data, i, 1, e)
	default:
		end, err = value(data, i, 0)
	}
	if err != nil {
		return 0, true, err
	}
	if skipSpace(data, end) != len(data) {
		return 0, true, ErrSyntax
	}
	return enter(data, i, opener, closer, want)
}

// enter returns the index of the first member or element of the checked value at data[i] when
// it is an object or array opened by opener; done when it is null (or nothing) or empty.
// Another kind of value is a *TypeError naming want.
func enter(data []byte, i int, opener, closer byte, want string) (int, bool, error) {
	if i >= len(data) {
		return 0, true, nil
	}
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

// String decodes a string value; null is "". As encoding/json, it replaces bytes that are not
// UTF-8 with U+FFFD.
func String(v []byte) (string, error) {
	switch {
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && !hasEscape(v[1:len(v)-1]) && utf8.Valid(v[1:len(v)-1]):
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
		return object(data, i, depth+1, nil)
	case c == '[':
		return array(data, i, depth+1, nil)
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

// object checks the object starting at data[i], at nesting depth depth, and returns where it
// ends; e (when not nil) notes where its members' values end.
func object(data []byte, i, depth int, e *ends) (int, error) {
	if depth > maxDepth {
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
		e.note(i)
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
}

// array checks the array starting at data[i] as object does an object.
func array(data []byte, i, depth int, e *ends) (int, error) {
	if depth > maxDepth {
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
		e.note(i)
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

// Word-at-a-time tests on eight bytes of a string read as one little-endian word w: each sets
// the high bit of the bytes it finds, and of none below the first it finds (a borrow only runs
// upwards from a byte found), so the lowest set bit marks the first such byte.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special finds the quote, the backslash and the control characters (bytes < 0x20) in w.
func special(w uint64) uint64 {
	q, bs := w^('"'*ones), w^('\\'*ones)
	return ((w-0x20*ones)&^w | (q-ones)&^q | (bs-ones)&^bs) & highs
}

// quoteOrBackslash finds the quote and the backslash in w.
func quoteOrBackslash(w uint64) uint64 {
	q, bs := w^('"'*ones), w^('\\'*ones)
	return ((q-ones)&^q | (bs-ones)&^bs) & highs
}

// plainRun returns where the run of plain bytes (not the quote, the backslash or a control
// character) starting at data[i] ends: eight bytes at a time, then one at a time.
func plainRun(data []byte, i int) int {
	for len(data)-i >= 8 {
		if m := special(binary.LittleEndian.Uint64(data[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(data) && plain[data[i]] {
		i++
	}
	return i
}

// str checks the string starting at data[i] (its opening quote) and returns where it ends.
func str(data []byte, i int) (int, error) {
	for i++; i < len(data); i++ {
		if i = plainRun(data, i); i == len(data) {
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

// skipString returns where the string starting at data[i] ends, in data already checked.
func skipString(data []byte, i int) int {
	for i++; ; {
		for len(data)-i >= 8 {
			if m := quoteOrBackslash(binary.LittleEndian.Uint64(data[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		switch data[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2 // the escaped byte; the rest of a \u escape is hex digits
		default:
			i++
		}
	}
}

// skip returns where the value starting at data[i] ends, in data already checked.
func skip(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	}
	for i < len(data) && !afterScalar[data[i]] { // a number or a literal
		i++
	}
	return i
}

// afterScalar marks the bytes that may follow a number or a literal.
var afterScalar = func() (t [256]bool) {
	for _, c := range ",]} \t\n\r" {
		t[c] = true
	}
	return t
}()

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
