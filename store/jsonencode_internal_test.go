package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/allocs"
)

// marshalSession writes what json.Marshal writes, byte for byte, for sessions with every kind
// of character in their strings, empty and absent optional members, times in every zone and
// with and without fractions, and times json.Marshal refuses (then its error).
func TestMarshalSessionIsMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"", "a", "Z", " ", "<", ">", "&", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f", "é", "日本", "😀",
		"\u2028", "\u2029", "\xff", "\xe2\x80", "slack:T1:U1", "00000000-aaaa-bbbb-cccc-000000000001"}
	str := func() string {
		s := ""
		for range r.IntN(5) {
			s += pieces[r.IntN(len(pieces))]
		}
		return s
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("X", -9*3600-1800), time.FixedZone("", 24*3600),
		time.FixedZone("", -25*3600)}
	moment := func() time.Time {
		switch r.IntN(8) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(10000+r.IntN(5), 1, 1, 0, 0, 0, 0, time.UTC) // a year json.Marshal refuses
		case 2:
			return time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return time.Unix(r.Int64N(4_000_000_000), r.Int64N(1_000_000_000)*int64(r.IntN(2))).In(zones[r.IntN(len(zones))])
	}
	refused := 0
	for i := range 20000 {
		s := flows.Session{ID: str(), Version: r.Int64() - r.Int64(), State: flows.State(str()), Flow: flows.Flow(str()), UserID: str(),
			Chat:   flows.ChatRef{Platform: str(), Tenant: str(), UserID: str(), Channel: str(), Locale: str(), TimeZone: str()},
			Method: flows.MethodKind(str()), Action: str(), CreatedAt: moment(), ExpiresAt: moment()}
		switch i % 3 {
		case 1:
			s.Proven = []flows.MethodKind{}
		case 2:
			for range 1 + r.IntN(3) {
				s.Proven = append(s.Proven, flows.MethodKind(str()))
			}
		}
		want, werr := json.Marshal(&s)
		got, err := marshalSession(&s)
		if (err != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n marshalSession %s %v\n json.Marshal   %s %v", s, got, err, want, werr)
		}
		if werr != nil {
			refused++
		}
	}
	if refused < 100 {
		t.Fatalf("only %d sessions refused", refused)
	}
	s := flows.Session{ID: "s1", Version: 3, State: "await_code", Flow: "reset", UserID: "u1", CreatedAt: time.Now(), ExpiresAt: time.Now(),
		Chat: flows.ChatRef{Platform: "slack", Tenant: "T1", UserID: "U1", Channel: "D1", Locale: "en-US", TimeZone: "Europe/Berlin"}}
	if n := allocs.Min(100, func() { _, _ = marshalSession(&s) }); n > 1 {
		t.Fatalf("%v allocations per session (json.Marshal: three)", n)
	}
}

// decodeLink reads a link record's five parts as strings.Split did, and refuses any other count.
func TestDecodeLinkParts(t *testing.T) {
	for _, v := range []string{"mac|slack:T:U|s1|3|1700000000000", "mac|c|s|3|17|x", "mac|c|s|3", "", "|||1|2", "a||b|x|2", "m|c|s|3|",
		"m|c|s|3|1|"} {
		rec, mac, ok := decodeLink("u1", flows.PurposeReset, v)
		parts := strings.Split(v, "|")
		wantOK := len(parts) == 5
		if wantOK {
			_, e1 := strconv.ParseInt(parts[3], 10, 64)
			_, e2 := strconv.ParseInt(parts[4], 10, 64)
			wantOK = e1 == nil && e2 == nil
		}
		if ok != wantOK || (ok && (mac != parts[0] || rec.ChatKey != parts[1] || rec.SessionID != parts[2])) {
			t.Fatalf("%q: %+v %q %v", v, rec, mac, ok)
		}
	}
}

// marshalSession writes the members it knows: a field added to flows.Session or flows.ChatRef
// would be dropped from every stored session without a word, and the comparison above (which
// fills the fields it knows) would not see it. This lists the fields with their tags and
// types: a new one fails here until marshalSession writes it and this list names it.
func TestMarshalSessionKnowsEveryField(t *testing.T) {
	fields := func(v any) string {
		ty := reflect.TypeOf(v)
		var out []string
		for i := range ty.NumField() {
			f := ty.Field(i)
			out = append(out, f.Name+" "+f.Type.String()+" "+f.Tag.Get("json"))
		}
		return strings.Join(out, "; ")
	}
	for _, c := range []struct {
		v    any
		want string
	}{
		{flows.Session{}, "ID string id; Version int64 v; State flows.State state; Flow flows.Flow flow; UserID string uid; " +
			"Chat flows.ChatRef chat; Method flows.MethodKind method,omitempty; Proven []flows.MethodKind proven,omitempty; " +
			"Action string action,omitempty; CreatedAt time.Time created; ExpiresAt time.Time expires"},
		{flows.ChatRef{}, "Platform string ; Tenant string ; UserID string ; Channel string ; Locale string ; TimeZone string ,omitempty"},
	} {
		if got := fields(c.v); got != c.want {
			t.Errorf("%T has the fields\n %s\nmarshalSession writes\n %s\nteach marshalSession the change, then this list", c.v, got, c.want)
		}
	}
}
