package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// samples are documents of every shape, valid and not.
var samples = []string{
	`{}`, `[]`, `null`, ` { "a" : 1 , "b":[true,false,null,{"c":"d"}], "e":{"f":[[]]} } `,
	`{"ok":true,"error":"x","ts":"1.2","message":{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"a \"q\" \\ \u00e9 \ud83d\ude00"}}]}}`,
	`{"n":-0.5e+10,"m":0,"k":12.25E3,"z":-1}`, `{"a\u0062c":"d\n","a":"dup","a":"last"}`, `"str"`, `12`, `true`,
	`{"a":}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":1e}`, `{"a":"\x"}`, `{"a":"\u12g4"}`,
	`{"a":"` + "\x01" + `"}`, `{"a":tru}`, `{"a":nul}`, `{a:1}`, `{"a":1}}`, `{"a":1} x`, `[`, `{`, `"`, ``, ` `, `{"a":[1,2}`,
	`{"a":"\uD800"}`, "{\"a\":\"\xff\xfe\"}", `{"":1}`, `[[[[[[[[[[]]]]]]]]]]`, many('{', '}'), many('[', ']'),
}

// many is an object (or array) of more members (elements) than the walk notes the ends of while
// it checks, with values of every kind.
func many(opener, closer byte) string {
	values := []string{`"s\"t\\r\u00e9"`, `-1.5e3`, `true`, `null`, `{"x":[1,{"y":"]}"}]}`, `["[",{}]`, `0`, `"long string that runs over several words of eight"`}
	b := []byte{opener}
	for k := range 45 {
		if k > 0 {
			b = append(b, ", "...)
		}
		if opener == '{' {
			b = fmt.Appendf(b, `"k%d\u0041" : `, k)
		}
		b = append(b, values[k%len(values)]...)
	}
	return string(append(b, closer))
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

// walkRaw walks every object and array in v with Members and Elements, which check each
// again, and lists what they hand out and the errors of walking each value both ways.
func walkRaw(v []byte) []string {
	var out []string
	err := Members(v, func(k, v []byte) error {
		out = append(out, "key "+string(k), "value "+string(v))
		out = append(out, walkRaw(v)...)
		return nil
	})
	out = append(out, fmt.Sprintf("members: %v", err))
	err = Elements(v, func(v []byte) error {
		out = append(out, "element "+string(v))
		out = append(out, walkRaw(v)...)
		return nil
	})
	return append(out, fmt.Sprintf("elements: %v", err))
}

// walkValue is walkRaw with a Value's walks, which check nothing again.
func walkValue(v Value) []string {
	var out []string
	err := v.Members(func(k []byte, v Value) error {
		out = append(out, "key "+string(k), "value "+string(v.Raw()))
		out = append(out, walkValue(v)...)
		return nil
	})
	out = append(out, fmt.Sprintf("members: %v", err))
	err = v.Elements(func(v Value) error {
		out = append(out, "element "+string(v.Raw()))
		out = append(out, walkValue(v)...)
		return nil
	})
	return append(out, fmt.Sprintf("elements: %v", err))
}

// The walks of the Values that Object and Array hand out find, at every depth, what Members and
// Elements find on the same bytes, and refuse the same kinds of value.
func TestValueWalksAgreeWithMembers(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	walked := 0
	for _, s := range append(samples, string(slackPayload)) {
		d := []byte(s)
		for range 200 {
			var top []string
			oerr := Object(d, func(k []byte, v Value) error {
				top = append(top, "key "+string(k), "value "+string(v.Raw()))
				top = append(top, walkValue(v)...)
				return nil
			})
			var want []string
			merr := Members(d, func(k, v []byte) error {
				want = append(want, "key "+string(k), "value "+string(v))
				want = append(want, walkRaw(v)...)
				return nil
			})
			if fmt.Sprint(oerr) != fmt.Sprint(merr) || !reflect.DeepEqual(top, want) {
				t.Fatalf("%q:\n Object %v %q\n Members %v %q", d, oerr, top, merr, want)
			}
			var elems, wantElems []string
			aerr := Array(d, func(v Value) error { elems = append(elems, walkValue(v)...); return nil })
			eerr := Elements(d, func(v []byte) error { wantElems = append(wantElems, walkRaw(v)...); return nil })
			if fmt.Sprint(aerr) != fmt.Sprint(eerr) || !reflect.DeepEqual(elems, wantElems) {
				t.Fatalf("%q:\n Array %v %q\n Elements %v %q", d, aerr, elems, eerr, wantElems)
			}
			walked += len(top) + len(elems)
			if d = mutate(r, d); r.IntN(4) == 0 {
				d = []byte(s)
			}
		}
	}
	if walked < 5000 {
		t.Fatalf("only %d parts walked", walked)
	}
	if err := (Value{}).Members(func([]byte, Value) error { return errors.New("a member") }); err != nil {
		t.Fatalf("the zero Value: %v", err)
	}
}

// Is matches as bytes.EqualFold does: ASCII letters in any case, and the other letters that
// fold to them (the Kelvin sign, the long s), for keys near the names the bot reads.
func TestIsIsEqualFold(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	names := []string{"id", "type", "state", "Kind", "action_id", "is_ultra_restricted", "UserID", "k", "s", "", "x-1_@[`{", "é", "Ésta"}
	pieces := []string{"a", "A", "k", "K", "\u212a", "s", "S", "\u017f", "_", "-", "@", "`", "[", "{", "1", "\xff", "é", "É", "\u0130", "i", "I"}
	tried := 0
	for _, name := range names {
		keys := []string{name, strings.ToUpper(name), strings.ToLower(name), strings.ReplaceAll(name, "k", "\u212a"),
			strings.ReplaceAll(strings.ToLower(name), "s", "\u017f"), name + "x", "x" + name}
		for range 300 {
			k := []byte(name)
			for range 1 + r.IntN(3) {
				p := pieces[r.IntN(len(pieces))]
				at := r.IntN(len(k) + 1)
				if r.IntN(2) == 0 && at < len(k) {
					k = append(k[:at:at], append([]byte(p), k[at+1:]...)...)
				} else {
					k = append(k[:at:at], append([]byte(p), k[at:]...)...)
				}
			}
			keys = append(keys, string(k))
		}
		for _, k := range keys {
			tried++
			if got, want := Is([]byte(k), name), bytes.EqualFold([]byte(k), []byte(name)); got != want {
				t.Fatalf("Is(%q, %q) = %v, bytes.EqualFold %v", k, name, got, want)
			}
		}
	}
	if !Is([]byte("\u212aind"), "kind") || !Is([]byte("\u017fTATE"), "state") || Is([]byte("kinds"), "kind") {
		t.Fatal("Is misses the letters that fold to ASCII ones")
	}
	t.Logf("%d keys", tried)
}

func TestStringAndBool(t *testing.T) {
	for _, v := range []string{`"plain"`, `"esc\"aped\u00e9"`, `null`, `""`, `5`, `{}`, `true`, "\"caf\xc3\xa9\"", "\"bad \xff\xfe utf-8\"", "\"cut \xc3\""} {
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
		got := map[string]json.RawMessage{}
		err := Members(d, func(k, v []byte) error {
			got[string(k)] = json.RawMessage(v)
			return nil
		})
		if json.Valid(d) == errors.Is(err, ErrSyntax) {
			t.Fatalf("%q: json.Valid %v, Members %v", d, json.Valid(d), err)
		}
		var want map[string]json.RawMessage
		if err != nil || json.Unmarshal(d, &want) != nil {
			return
		}
		for k := range want {
			if !utf8.ValidString(k) || strings.ContainsRune(k, utf8.RuneError) {
				return // a key of bytes that are not UTF-8: encoding/json decodes it with U+FFFD
			}
		}
		if want == nil {
			want = map[string]json.RawMessage{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: members %q, encoding/json %q", d, got, want)
		}
	})
}

func BenchmarkMembers(b *testing.B) {
	d := []byte(samples[4])
	for b.Loop() {
		_ = Members(d, func(k, v []byte) error { return nil })
	}
}

// slackPayload is a block_actions payload as Slack sends one for a click in a message of the
// bot's: the clicked message with all its blocks, then the action.
var slackPayload = []byte(`{"type":"block_actions","user":{"id":"U0123ABCD","username":"alice","name":"alice","team_id":"T0123ABCD"},` +
	`"api_app_id":"A0RESETBOT","token":"x","container":{"type":"message","message_ts":"1700000000.000100","channel_id":"D0123ABCD","is_ephemeral":false},` +
	`"trigger_id":"1700000001.123456.0123456789abcdef","team":{"id":"T0123ABCD","domain":"contoso"},"enterprise":null,"is_enterprise_install":false,` +
	`"channel":{"id":"D0123ABCD","name":"directmessage"},"message":{"type":"message","subtype":"bot_message","text":"How would you like to prove it is you?",` +
	`"ts":"1700000000.000100","bot_id":"B0RESETBOT","blocks":[` +
	`{"type":"section","block_id":"q","text":{"type":"mrkdwn","text":"*Resetting your password* \u2014 first, let us make sure it is you. Pick one of the methods you registered; the code we send is valid for ten minutes.","verbatim":false}},` +
	`{"type":"context","block_id":"c","elements":[{"type":"mrkdwn","text":"Asked by <@U0123ABCD> at 10:42 (Europe/Paris). Not you? Tell the IT service desk.","verbatim":false}]},` +
	`{"type":"actions","block_id":"actions:0","elements":[` +
	`{"type":"button","action_id":"choice:0","text":{"type":"plain_text","text":"Authenticator app","emoji":true},"value":"s1:3:totp"},` +
	`{"type":"button","action_id":"choice:1","text":{"type":"plain_text","text":"Text message to \u2022\u2022\u2022\u2022 42","emoji":true},"value":"s1:3:sms"},` +
	`{"type":"button","action_id":"choice:2","text":{"type":"plain_text","text":"Email to a\u2026@fabrikam.example","emoji":true},"value":"s1:3:email"},` +
	`{"type":"button","action_id":"cancel","text":{"type":"plain_text","text":"Cancel","emoji":true},"value":"s1:3:cancel","style":"danger"}]}]},` +
	`"state":{"values":{}},"response_url":"https:\/\/hooks.slack.com\/actions\/T0123ABCD\/1700000001\/abcdefABCDEF0123456789",` +
	`"actions":[{"action_id":"choice:1","block_id":"actions:0","text":{"type":"plain_text","text":"Text message to \u2022\u2022\u2022\u2022 42","emoji":true},` +
	`"value":"s1:3:sms","type":"button","action_ts":"1700000001.000002"}]}`)

// BenchmarkSlackPayload walks a block_actions payload as the Slack adapter does: its top-level
// members, the ids inside a few, the message's blocks and the action's members; with Members
// and Elements on each nested value (each checked again) and with Values (checked once).
func BenchmarkSlackPayload(b *testing.B) {
	b.Run("Members", func(b *testing.B) {
		nop := func(k, v []byte) error { return nil }
		b.SetBytes(int64(len(slackPayload)))
		for b.Loop() {
			err := Members(slackPayload, func(k, v []byte) error {
				switch {
				case Is(k, "user"), Is(k, "team"), Is(k, "channel"), Is(k, "container"):
					return Members(v, nop)
				case Is(k, "message"):
					return Members(v, func(k, v []byte) error {
						if Is(k, "blocks") {
							return Elements(v, func([]byte) error { return nil })
						}
						return nil
					})
				case Is(k, "actions"):
					return Elements(v, func(v []byte) error { return Members(v, nop) })
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Values", func(b *testing.B) {
		nop := func(k []byte, v Value) error { return nil }
		b.SetBytes(int64(len(slackPayload)))
		for b.Loop() {
			err := Object(slackPayload, func(k []byte, v Value) error {
				switch {
				case Is(k, "user"), Is(k, "team"), Is(k, "channel"), Is(k, "container"):
					return v.Members(nop)
				case Is(k, "message"):
					return v.Members(func(k []byte, v Value) error {
						if Is(k, "blocks") {
							return v.Elements(func(Value) error { return nil })
						}
						return nil
					})
				case Is(k, "actions"):
					return v.Elements(func(v Value) error { return v.Members(nop) })
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
