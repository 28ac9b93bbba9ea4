package graph

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/resetbot/resetbot/internal/jsonscan"
)

// The look-up's answers (the user, the search's users, the first page of memberships) are read
// with jsonscan into the structs encoding/json decoded them into, as encoding/json does (the
// same members in any case, null leaving a field alone, the last of a repeated member winning,
// an array read into the slice's elements in place); an answer jsonscan refuses is decoded by
// encoding/json, for its error. encoding/json's decoding was about a third of a look-up's CPU.

// answer is an answer's JSON to read: a plain request's answer, bytes checked as they are read,
// or a batched answer's body, a Value of the batch's document that scanBatch checked once, so
// that its walks check nothing again (jsonscan.Members on its bytes would check them all again,
// at every depth).
type answer struct {
	raw     []byte
	val     jsonscan.Value // raw as a Value, when checked
	checked bool
}

// plain is the answer b, not checked yet.
func plain(b []byte) answer { return answer{raw: b} }

// object walks the members of the answer, an object (see jsonscan.Object).
func (a answer) object(f func(k []byte, v jsonscan.Value) error) error {
	if a.checked {
		return a.val.Members(f)
	}
	return jsonscan.Object(a.raw, f)
}

// unmarshalInto is json.Unmarshal(raw, out) through a copy of *out (zero): out itself does not
// escape, so the answers jsonscan reads are decoded into values on their callers' stacks.
func unmarshalInto[T any](raw []byte, out *T) error {
	var x T
	err := json.Unmarshal(raw, &x)
	*out = x
	return err
}

// readUser reads a user answer into u (zero) as json.Unmarshal does.
func readUser(a answer, u *rawUser) error {
	var s rawUser
	if a.object(s.member) == nil {
		*u = s
		return nil
	}
	return unmarshalInto(a.raw, u)
}

// member reads one member of a user.
func (u *rawUser) member(k []byte, val jsonscan.Value) error {
	v := val.Raw()
	var s *string
	var b *bool
	switch {
	case jsonscan.Is(k, "id"):
		s = &u.ID
	case jsonscan.Is(k, "displayName"):
		s = &u.DisplayName
	case jsonscan.Is(k, "mail"):
		s = &u.Mail
	case jsonscan.Is(k, "userPrincipalName"):
		s = &u.UserPrincipalName
	case jsonscan.Is(k, "onPremisesSecurityIdentifier"):
		s = &u.OnPremisesSecurityIdentifier
	case jsonscan.Is(k, "accountEnabled"):
		b = &u.AccountEnabled
	case jsonscan.Is(k, "onPremisesSyncEnabled"):
		b = &u.OnPremisesSyncEnabled
	default:
		return nil
	}
	if string(v) == "null" {
		return nil
	}
	var err error
	if s != nil {
		*s, err = jsonString(v)
	} else {
		*b, err = jsonscan.Bool(v)
	}
	return err
}

// readFound reads the search's answer into f (zero) as json.Unmarshal does.
func readFound(a answer, f *foundUsers) error {
	var s foundUsers
	err := a.object(func(k []byte, v jsonscan.Value) error {
		if !jsonscan.Is(k, "value") {
			return nil
		}
		return scanList(v, &s.Value, (*rawUser).member)
	})
	if err == nil {
		*f = s
		return nil
	}
	return unmarshalInto(a.raw, f)
}

// membershipPage is the first page of transitive memberships.
type membershipPage struct {
	Value []memberObject `json:"value"`
	Next  string         `json:"@odata.nextLink"`
}

// memberObject is a group or directory role the user is a member of.
type memberObject struct {
	Type               string `json:"@odata.type"`
	ID                 string `json:"id"`
	IsAssignableToRole *bool  `json:"isAssignableToRole"`
}

// readMemberships reads a memberships page into p (zero) as json.Unmarshal does.
func readMemberships(a answer, p *membershipPage) error {
	var s membershipPage
	err := a.object(func(k []byte, v jsonscan.Value) (err error) {
		switch {
		case jsonscan.Is(k, "value"):
			return scanList(v, &s.Value, (*memberObject).member)
		case jsonscan.Is(k, "@odata.nextLink"):
			if string(v.Raw()) != "null" {
				s.Next, err = jsonString(v.Raw())
			}
		}
		return err
	})
	if err == nil {
		*p = s
		return nil
	}
	return unmarshalInto(a.raw, p)
}

// member reads one member of a group or role.
func (o *memberObject) member(k []byte, val jsonscan.Value) (err error) {
	v := val.Raw()
	null := string(v) == "null"
	switch {
	case jsonscan.Is(k, "@odata.type") && !null:
		o.Type, err = jsonString(v)
	case jsonscan.Is(k, "id") && !null:
		o.ID, err = jsonString(v)
	case jsonscan.Is(k, "isAssignableToRole"):
		if null {
			o.IsAssignableToRole = nil
			return nil
		}
		var b bool
		if b, err = jsonscan.Bool(v); err == nil {
			if o.IsAssignableToRole == nil {
				o.IsAssignableToRole = new(bool)
			}
			*o.IsAssignableToRole = b
		}
	}
	return err
}

// scanList reads the array v (checked) of objects into *list as encoding/json reads an array into a
// slice: null makes it nil; each element is read into the slice's element at its place (a zero
// one past the slice's end), null leaving it alone; the slice then ends at the last element,
// and an empty array makes it empty, not nil.
func scanList[T any](v jsonscan.Value, list *[]T, member func(*T, []byte, jsonscan.Value) error) error {
	if string(v.Raw()) == "null" {
		*list = nil
		return nil
	}
	l := (*list)[:0]
	err := v.Elements(func(e jsonscan.Value) error {
		var zero T
		if len(l) < cap(l) {
			l = l[:len(l)+1]
		} else {
			l = append(l, zero)
		}
		if string(e.Raw()) == "null" {
			return nil
		}
		x := &l[len(l)-1]
		return e.Members(func(k []byte, v jsonscan.Value) error { return member(x, k, v) })
	})
	if len(l) == 0 {
		l = []T{}
	}
	*list = l
	return err
}

// jsonString decodes a string value as encoding/json does: jsonscan.String keeps bytes that
// are not UTF-8 as they are, encoding/json makes each U+FFFD.
func jsonString(v []byte) (string, error) {
	if utf8.Valid(v) {
		return jsonscan.String(v)
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}
