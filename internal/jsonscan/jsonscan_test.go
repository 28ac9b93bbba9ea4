package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// samples are documents of every shape, valid and not.
var samples = []string{
	`{}`, `[]`, `null`, ` { "a" : 1 , "b":[true,false,null,{"c":"d"}], "e":{"f":[[]]} } `,
	`{"ok":true,"error":"x","ts":"1.2","message":{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"a \"q\" \\ \u00e9 \ud83d\ude00"}}]}}`,
	`{"n":-0.5e+10,"m":0,"k":12.25E3,"z":-1}`, `{"a\u0062c":"d\n","a":"dup","a":"last"}`, `"str"`, `12`, `true`,
	`{"a":}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":"\x"}`, `{"a":"\u12g4"}`,
	`{"a":"` + "\x01" + `"}`, `{"a":tru}`, `{"a":nul}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `[`, `{`, `"`, ``, ` `, `{"a":[1,2}`,
	`{"a":"\uD800"}`, "{\"a\":\"\xff\xfe\"}", `{"":1}`, `[[[[[[[[[[]]]]]]]]]]`,
}

// mutate changes a document a little: a byte changed, dropped or doubled.
func mutate(r *rand.Rand, s []byte) []byte {
	if len(s) == 0 {
		return []byte{`{}[]",:1-e.\ntu`[r.IntN(15)]}
	}
	s = bytes.Clone(s)
	p := r.IntN(len(s))
	switch r.IntN(3) {
	case 0:
		s[p] = `{}[]",:1-e.\ ntulf0`[r.IntN(19)]
	case 1:
		s = append(s[:p], s[p+1:]...)
	default:
		s = append(s[:p+1], s[p:]...)
	}
	return s
}

// Members and Elements accept exactly what json.Valid accepts, and find the members and
// elements encoding/json finds, with the same raw values.
func TestMembersAgreeWithEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var docs [][]byte
	for _, s := range samples {
		docs = append(docs, []byte(s))
		d := []byte(s)
		for range 300 {
			d = mutate(r, d)
			docs = append(docs, d)
			if r.IntN(8) == 0 {
				d = []byte(s)
			}
		}
	}
	valid := 0
	for _, d := range docs {
		var m []string
		err := Members(d, func(k, v []byte) error {
			m = append(m, string(k), string(v))
			return nil
		})
		var e []string
		aerr := Elements(d, func(v []byte) error {
			e = append(e, string(v))
			return nil
		})
		if !json.Valid(d) {
			if !errors.Is(err, ErrSyntax) || !errors.Is(aerr, ErrSyntax) {
				t.Fatalf("%q is not JSON: Members %v, Elements %v", d, err, aerr)
			}
			continue
		}
		valid++
		var te *TypeError
		var obj map[string]json.RawMessage
		if jerr := json.Unmarshal(d, &obj); jerr != nil {
			if !errors.As(err, &te) {
				t.Fatalf("%q: Members %v, encoding/json %v", d, err, jerr)
			}
		} else {
			if err != nil {
				t.Fatalf("%q: %v", d, err)
			}
			got := map[string]json.RawMessage{}
			for i := 0; i < len(m); i += 2 {
				got[m[i]] = json.RawMessage(m[i+1])
			}
			if obj == nil {
				obj = map[string]json.RawMessage{}
			}
			if !reflect.DeepEqual(got, obj) {
				t.Fatalf("%q: members %q, encoding/json %q", d, got, obj)
			}
		}
		var arr []json.RawMessage
		if jerr := json.Unmarshal(d, &arr); jerr != nil {
			if !errors.As(aerr, &te) {
				t.Fatalf("%q: Elements %v, encoding/json %v", d, aerr, jerr)
			}
		} else {
			if aerr != nil {
				t.Fatalf("%q: %v", d, aerr)
			}
			want := []string{}
			for _, v := range arr {
				want = append(want, string(v))
			}
			if e == nil {
				e = []string{}
			}
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("%q: elements %q, encoding/json %q", d, e, want)
			}
		}
	}
	if valid < 300 {
		t.Fatalf("only %d valid documents", valid)
	}
}

func TestStringAndBool(t *testing.T) {
	for _, v := range []string{`"plain"`, `"esc\"aped\u00e9"`, `null`, `""`, `5`, `{}`, `true`} {
		got, err := String([]byte(v))
		var want string
		jerr := json.Unmarshal([]byte(v), &want)
		if (err == nil) != (jerr == nil) || got != want {
			t.Errorf("String(%s) = %q, %v; encoding/json %q, %v", v, got, err, want, jerr)
		}
	}
	for _, v := range []string{`true`, `false`, `null`, `"true"`, `1`} {
		got, err := Bool([]byte(v))
		var want bool
		jerr := json.Unmarshal([]byte(v), &want)
		if (err == nil) != (jerr == nil) || got != want {
			t.Errorf("Bool(%s) = %v, %v; encoding/json %v, %v", v, got, err, want, jerr)
		}
	}
}

// An error from the callback stops the walk.
func TestCallbackErrorStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Members([]byte(`{"a":1,"b":2}`), func(k, v []byte) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("%v after %d members", err, n)
	}
}

func FuzzMembers(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		err := Members(d, func(k, v []byte) error { return nil })
		if json.Valid(d) == errors.Is(err, ErrSyntax) {
			t.Fatalf("%q: json.Valid %v, Members %v", d, json.Valid(d), err)
		}
	})
}

func BenchmarkMembers(b *testing.B) {
	d := []byte(samples[4])
	for b.Loop() {
		_ = Members(d, func(k, v []byte) error { return nil })
	}
}
