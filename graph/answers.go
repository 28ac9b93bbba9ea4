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

// readUser reads a user answer into u (zero) as json.Unmarshal does.
func readUser(b []byte, u *rawUser) error {
	var s rawUser
	if jsonscan.Members(b, s.member) == nil {
		*u = s
		return nil
	}
	return json.Unmarshal(b, u)
}

// member reads one member of a user.
func (u *rawUser) member(k, v []byte) error {
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
func readFound(b []byte, f *foundUsers) error {
	var s foundUsers
	err := jsonscan.Members(b, func(k, v []byte) error {
		if !jsonscan.Is(k, "value") {
			return nil
		}
		return scanList(v, &s.Value, (*rawUser).member)
	})
	if err == nil {
		*f = s
		return nil
	}
	return json.Unmarshal(b, f)
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
func readMemberships(b []byte, p *membershipPage) error {
	var s membershipPage
	err := jsonscan.Members(b, func(k, v []byte) (err error) {
		switch {
		case jsonscan.Is(k, "value"):
			return scanList(v, &s.Value, (*memberObject).member)
		case jsonscan.Is(k, "@odata.nextLink"):
			if string(v) != "null" {
				s.Next, err = jsonString(v)
			}
		}
		return err
	})
	if err == nil {
		*p = s
		return nil
	}
	return json.Unmarshal(b, p)
}

// member reads one member of a group or role.
func (o *memberObject) member(k, v []byte) (err error) {
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

// scanList reads the array v of objects into *list as encoding/json reads an array into a
// slice: null makes it nil; each element is read into the slice's element at its place (a zero
// one past the slice's end), null leaving it alone; the slice then ends at the last element,
// and an empty array makes it empty, not nil.
func scanList[T any](v []byte, list *[]T, member func(*T, []byte, []byte) error) error {
	if string(v) == "null" {
		*list = nil
		return nil
	}
	l := (*list)[:0]
	err := jsonscan.Elements(v, func(e []byte) error {
		var zero T
		if len(l) < cap(l) {
			l = l[:len(l)+1]
		} else {
			l = append(l, zero)
		}
		if string(e) == "null" {
			return nil
		}
		x := &l[len(l)-1]
		return jsonscan.Members(e, func(k, v []byte) error { return member(x, k, v) })
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
