package store

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

// The session (read at every step) and each registered method (read at every step and page)
// are JSON records. They are read here with jsonscan, as encoding/json's Unmarshal reads them
// into the same structs: the same member names in any case, null leaving a field as it was,
// a later member of the same name decoding over the earlier one (into the same struct or
// slice), unknown members skipped, and an error for the same records (a value of another kind,
// a number that is not an int64, a time that is not RFC 3339), checked before anything is
// decoded. TestSessionDecodeMatchesEncodingJSON compares the two on damaged records.
// encoding/json reads them through reflection and allocates for the work; here only the
// strings and slices kept are made.

// source is a record as a string and as bytes: the strings decoded from it that have no escapes
// are slices of the string, not copies of their own (one allocation for the record's strings).
type source struct {
	s string
	b []byte // the same bytes; a value's offset in it is cap(b) - cap(value)
}

// unmarshalSession decodes a session record into s as json.Unmarshal would.
func unmarshalSession(data string, s *flows.Session) error {
	src := source{s: data, b: []byte(data)}
	return objectFields(src.b, func(k []byte, val jsonscan.Value) error {
		v := val.Raw()
		switch {
		case jsonscan.Is(k, "id"):
			return src.str(v, &s.ID)
		case jsonscan.Is(k, "v"):
			return decodeInt64(v, &s.Version)
		case jsonscan.Is(k, "state"):
			return src.str(v, (*string)(&s.State))
		case jsonscan.Is(k, "flow"):
			return src.str(v, (*string)(&s.Flow))
		case jsonscan.Is(k, "uid"):
			return src.str(v, &s.UserID)
		case jsonscan.Is(k, "chat"):
			return src.chatRef(val, &s.Chat)
		case jsonscan.Is(k, "method"):
			return src.str(v, (*string)(&s.Method))
		case jsonscan.Is(k, "proven"):
			return decodeSlice(val, &s.Proven, func(v jsonscan.Value, m *flows.MethodKind) error { return src.str(v.Raw(), (*string)(m)) })
		case jsonscan.Is(k, "action"):
			return src.str(v, &s.Action)
		case jsonscan.Is(k, "created"):
			return s.CreatedAt.UnmarshalJSON(v)
		case jsonscan.Is(k, "expires"):
			return s.ExpiresAt.UnmarshalJSON(v)
		}
		return nil
	})
}

func (src source) chatRef(val jsonscan.Value, c *flows.ChatRef) error {
	if isNull(val.Raw()) {
		return nil
	}
	return valueFields(val, func(k []byte, val jsonscan.Value) error {
		v := val.Raw()
		switch {
		case jsonscan.Is(k, "Platform"):
			return src.str(v, &c.Platform)
		case jsonscan.Is(k, "Tenant"):
			return src.str(v, &c.Tenant)
		case jsonscan.Is(k, "UserID"):
			return src.str(v, &c.UserID)
		case jsonscan.Is(k, "Channel"):
			return src.str(v, &c.Channel)
		case jsonscan.Is(k, "Locale"):
			return src.str(v, &c.Locale)
		case jsonscan.Is(k, "TimeZone"):
			return src.str(v, &c.TimeZone)
		}
		return nil
	})
}

// unmarshalRegistered decodes a registered method's record into r (a zero Registered) as
// json.Unmarshal would. A record with passkeys (or a WebAuthn user handle) is left to
// encoding/json: it is read only where passkeys are used.
func unmarshalRegistered(data []byte, r *flows.Registered) error {
	src := source{s: string(data), b: data}
	err := objectFields(data, func(k []byte, val jsonscan.Value) error {
		v := val.Raw()
		switch {
		case jsonscan.Is(k, "Passkeys"), jsonscan.Is(k, "Handle"):
			return errPasskeys
		case jsonscan.Is(k, "Kind"):
			return src.str(v, (*string)(&r.Kind))
		case jsonscan.Is(k, "Secret"):
			return src.str(v, &r.Secret)
		case jsonscan.Is(k, "Address"):
			return src.str(v, &r.Address)
		case jsonscan.Is(k, "Questions"):
			return decodeSlice(val, &r.Questions, src.qa)
		case jsonscan.Is(k, "RegisteredAt"):
			return r.RegisteredAt.UnmarshalJSON(v)
		}
		return nil
	})
	if err == errPasskeys {
		return unmarshalRegisteredJSON(data, r)
	}
	return err
}

// unmarshalRegisteredJSON is json.Unmarshal into r (zeroed first), through a copy: r itself
// does not escape, so a caller may decode into a Registered of its stack.
func unmarshalRegisteredJSON(data []byte, r *flows.Registered) error {
	var x flows.Registered
	err := json.Unmarshal(data, &x)
	*r = x
	return err
}

// objectFields decodes a document's members with field, and valueFields a value's, and both
// answer as json.Unmarshal does: a malformed document's error, else the first error a member
// gave, every member decoded all the same (encoding/json decodes the rest after a value of
// another kind). errPasskeys from field ends the walk with it. (Two functions, not one taking
// the walk as a function value: field's closure would then escape and be allocated.)
func objectFields(doc []byte, field func(k []byte, val jsonscan.Value) error) error {
	var first error
	err := jsonscan.Object(doc, func(k []byte, val jsonscan.Value) error { return firstOf(&first, field(k, val)) })
	if err != nil {
		return err
	}
	return first
}

func valueFields(obj jsonscan.Value, field func(k []byte, val jsonscan.Value) error) error {
	var first error
	err := obj.Members(func(k []byte, val jsonscan.Value) error { return firstOf(&first, field(k, val)) })
	if err != nil {
		return err
	}
	return first
}

// firstOf keeps err in *first if it is the first, and goes on with the walk (but for
// errPasskeys, which ends it).
func firstOf(first *error, err error) error {
	if err == errPasskeys {
		return err
	}
	if *first == nil {
		*first = err
	}
	return nil
}

// errPasskeys stops the walk of a record with passkeys.
var errPasskeys = &jsonscan.TypeError{Want: "no passkeys", Got: "passkeys"}

func (src source) qa(val jsonscan.Value, q *flows.QA) error {
	if isNull(val.Raw()) {
		return nil
	}
	return valueFields(val, func(k []byte, val jsonscan.Value) error {
		v := val.Raw()
		switch {
		case jsonscan.Is(k, "q"):
			return src.str(v, &q.Question)
		case jsonscan.Is(k, "h"):
			return src.str(v, &q.Hash)
		}
		return nil
	})
}

func isNull(v []byte) bool { return string(v) == "null" }

// str decodes a string of the record; null leaves dst as it is.
func (src source) str(v []byte, dst *string) error {
	if isNull(v) {
		return nil
	}
	if v[0] != '"' {
		return &jsonscan.TypeError{Want: "a string", Got: string(v[:1])}
	}
	if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		at := cap(src.b) - cap(in)
		*dst = src.s[at : at+len(in)]
		return nil
	}
	s, err := jsonscan.String(v)
	if err == nil {
		*dst = s
	}
	return err
}

// decodeInt64 decodes an integer as encoding/json does (a fraction or exponent is an error);
// null leaves dst as it is.
func decodeInt64(v []byte, dst *int64) error {
	if isNull(v) {
		return nil
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return &jsonscan.TypeError{Want: "an int64", Got: "another value"}
	}
	*dst = n
	return nil
}

// decodeSlice decodes an array into *s as encoding/json does: element i decodes over what is at
// index i of the slice's array (the length grows within its capacity first), the slice ends at
// the last element, and an empty array is an empty slice; null is a nil slice.
func decodeSlice[T any](val jsonscan.Value, s *[]T, elem func(jsonscan.Value, *T) error) error {
	if v := val.Raw(); isNull(v) {
		*s = nil
		return nil
	} else if v[0] != '[' {
		return &jsonscan.TypeError{Want: "an array", Got: string(v[:1])}
	}
	var first error
	i := 0
	err := val.Elements(func(v jsonscan.Value) error {
		if i >= cap(*s) {
			var zero T
			*s = append((*s)[:len(*s):len(*s)], zero)[:len(*s)]
		}
		if i >= len(*s) {
			*s = (*s)[:i+1]
		}
		if err := elem(v, &(*s)[i]); err != nil && first == nil {
			first = err
		}
		i++
		return nil
	})
	if err != nil {
		return err
	}
	if i < len(*s) {
		*s = (*s)[:i]
	}
	if i == 0 {
		*s = []T{}
	}
	return first
}
