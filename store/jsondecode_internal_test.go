package store

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
)

// sessionRecords are session records as the store writes them (json.Marshal), and records it
// never writes: members in other cases, repeated, null, of other kinds, unknown.
func sessionRecords(t testing.TB) []string {
	at := time.Date(2026, 12, 1, 3, 4, 5, 123456789, time.FixedZone("", 3600))
	var out []string
	for _, s := range []flows.Session{
		{},
		{ID: "s1", Version: 7, State: "await_code", Flow: "reset", UserID: "00000000-aaaa-bbbb-cccc-000000000001",
			Chat:   flows.ChatRef{Platform: "slack", Tenant: "T1", UserID: "U1", Channel: "D1", Locale: "de-DE", TimeZone: "Europe/Berlin"},
			Method: "sms", Proven: []flows.MethodKind{"totp", "email"}, Action: "reset", CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)},
		{ID: `q"uote\back<>&é😀`, State: "s", Chat: flows.ChatRef{Platform: "teams", UserID: "29:1a\u2028b"}, Proven: []flows.MethodKind{}, CreatedAt: at.UTC()},
	} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return append(out,
		`null`, `[]`, `"x"`, `{"ID":"a","Uid":"b","STATE":"c","Chat":{"platform":"p","userid":"u","TIMEZONE":"z"}}`,
		`{"id":"a","id":null,"id":"b","chat":{"Platform":"p"},"chat":{"Tenant":"t"},"chat":null}`,
		`{"proven":["a","b","c"],"proven":[null,"x"]}`, `{"proven":["a","b"],"proven":["c"],"proven":[null,null]}`,
		`{"proven":["a"],"proven":[]}`, `{"proven":["a"],"proven":null}`, `{"proven":"a"}`, `{"proven":[1]}`, `{"proven":[{}]}`,
		`{"v":1}`, `{"v":-0}`, `{"v":1.5}`, `{"v":1e3}`, `{"v":"1"}`, `{"v":9223372036854775807}`, `{"v":9223372036854775808}`,
		`{"v":null,"v":true}`, `{"id":5}`, `{"id":true}`, `{"id":{}}`, `{"id":[]}`, `{"chat":"x"}`, `{"chat":[]}`, `{"chat":{"Locale":1}}`,
		`{"created":"2026-12-01T03:04:05Z"}`, `{"created":"yesterday"}`, `{"created":5}`, `{"created":null}`, `{"expires":{}}`,
		`{"unknown":{"deep":[1,2,{"x":null}]},"id":"k"}`, `{"id":"\u0041\ud83d\ude00\n"}`, "{\"id\":\"bad \xff utf-8\"}",
		`{"id":"a","v":1,"id":3}`, `{"id":"a"} `, ` {"id":"a"}x`)
}

// registeredRecords are registered methods' records as the store seals them, and others.
func registeredRecords(t testing.TB) []string {
	at := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	var out []string
	for _, r := range []flows.Registered{
		{},
		{Kind: "totp", Secret: "JBSWY3DPEHPK3PXP", RegisteredAt: at},
		{Kind: "email", Address: "a.b+c@contoso.example", RegisteredAt: at},
		{Kind: "questions", Questions: []flows.QA{{Question: "Your first pet?", Hash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA"},
			{Question: `"Quoted" <city> & é`, Hash: "h2"}}, RegisteredAt: at},
		{Kind: "passkey", Passkeys: []flows.Passkey{{ID: []byte{1, 2}, Name: "YubiKey", PublicKey: []byte{3}, AddedAt: at}}, Handle: []byte{9, 8, 7}},
	} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return append(out,
		`{"kind":"sms","ADDRESS":"+33600000000","registeredat":"2025-06-01T08:00:00Z"}`, `{"Kind":"x","Stored":"y","-":"z"}`,
		`{"Questions":[{"q":"a","h":"b"},{"q":"c"}],"Questions":[{"h":"d"}]}`, `{"Questions":[{"q":"a"}],"Questions":[null]}`,
		`{"Questions":[{"Q":"a","H":"b"}]}`, `{"Questions":{}}`, `{"Questions":[1]}`, `{"Questions":[[]]}`, `{"Questions":null}`,
		`{"Questions":[{"q":1}]}`, `{"RegisteredAt":"x"}`, `{"Kind":"a","handle":"AQID"}`, `{"Kind":"a","handle":"!"}`,
		`{"passkeys":null,"Kind":"a"}`, `{"Kind":"a","Passkeys":[{"name":5}]}`, `{"Secret":null}`, `null`, `[1]`)
}

// The session and method records are decoded as encoding/json decodes them into the same
// structs: the same fields, and an error for the same records, for records as written, odd
// ones and damaged ones.
func TestSessionDecodeMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 4))
	const using = `{}[]",:\ nul0123456789-.eEtrfa`
	damage := func(docs []string) []string {
		out := docs
		for _, d := range docs {
			if d == "" {
				continue
			}
			for range 300 {
				out = append(out, jsonscantest.Damaged(r, d, using))
			}
		}
		return out
	}
	agreed := 0
	for _, d := range damage(sessionRecords(t)) {
		var want, got flows.Session
		werr := json.Unmarshal([]byte(d), &want)
		gerr := unmarshalSession(d, &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s:\n ours %v\n encoding/json %v", d, gerr, werr)
		}
		if werr == nil {
			agreed++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n ours          %+v\n encoding/json %+v", d, got, want)
			}
		}
	}
	for _, d := range damage(registeredRecords(t)) {
		var want, got flows.Registered
		werr := json.Unmarshal([]byte(d), &want)
		gerr := unmarshalRegistered([]byte(d), &got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s:\n ours %v\n encoding/json %v", d, gerr, werr)
		}
		if werr == nil {
			agreed++
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s:\n ours          %+v\n encoding/json %+v", d, got, want)
			}
		}
	}
	if agreed < 1000 {
		t.Fatalf("only %d records decoded", agreed)
	}
}

// BenchmarkDecodeSession decodes the session record of a step, as encoding/json did and as
// the step's read does now.
func BenchmarkDecodeSession(b *testing.B) {
	rec := sessionRecords(b)[1]
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			var s flows.Session
			if err := json.Unmarshal([]byte(rec), &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			var s flows.Session
			if err := unmarshalSession(rec, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeRegistered decodes a registered method's record (after it is unsealed), as
// encoding/json did and as the enrollment's read does now.
func BenchmarkDecodeRegistered(b *testing.B) {
	for _, name := range []string{"totp", "questions"} {
		var rec []byte
		for _, r := range registeredRecords(b) {
			if strings.Contains(r, `"Kind":"`+name+`"`) {
				rec = []byte(r)
			}
		}
		b.Run(name+"/encoding-json", func(b *testing.B) {
			for b.Loop() {
				var r flows.Registered
				if err := json.Unmarshal(rec, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/jsonscan", func(b *testing.B) {
			for b.Loop() {
				var r flows.Registered
				if err := unmarshalRegistered(rec, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
