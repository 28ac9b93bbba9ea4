package graph

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// The batch body is what json.Marshal writes for the same requests, for the look-up's requests
// and for strings of any bytes.
func TestAppendBatchMatchesJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := []string{"a", "Z", "0", "'", "\"", "\\", "<", ">", "&", "$", "/", "?", "=", " ", "%", "\n", "\t", "\x00", "\x1f", "\x7f",
		"é", "€", "\u2028", "\u2029", "\xff", "\xc3", "😀", "\b", "\f", "\r"}
	random := func() string {
		var sb strings.Builder
		for range r.IntN(12) {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	cases := [][]batchReq{lookupRequests("a11ce000-0000-4000-8000-000000000001", true, 0), lookupRequests("o'brien@x&y <z>", false, 0), {}}
	for range 3000 {
		var reqs []batchReq
		for range 1 + r.IntN(4) {
			reqs = append(reqs, batchReq{ID: random(), Method: random(), URL: random()})
		}
		cases = append(cases, reqs)
	}
	for _, reqs := range cases {
		want, err := json.Marshal(struct {
			Requests []batchReq `json:"requests"`
		}{reqs})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendBatch(nil, reqs); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n appendBatch  %s\n json.Marshal %s", reqs, got, want)
		}
	}
}

// The privilege checks' filter is queryValue of the whole filter, escaped piece by piece.
func TestPrincipalFilterIsQueryValue(t *testing.T) {
	for _, id := range []string{"a11ce000-0000-4000-8000-000000000001", "o'brien", "a b+c&d", "é/?#%", ""} {
		want := queryValue("principalId eq '" + strings.ReplaceAll(id, "'", "''") + "'")
		rs := lookupRequests(id, false, 0)
		if u := rs[1].URL; !strings.Contains(u, "$filter="+want+"&") {
			t.Errorf("%q: %s, want the filter %s", id, u, want)
		}
		if _, err := url.ParseQuery(strings.SplitN(rs[1].URL, "?", 2)[1]); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
}

// passwordPatch is the body of PATCH /users/{id} that sets a password.
type passwordPatch struct {
	Type    string `json:"@odata.type"`
	Profile struct {
		Force    bool   `json:"forceChangePasswordNextSignIn"`
		Password string `json:"password"`
	} `json:"passwordProfile"`
}

// The password change's body is what json.Marshal writes for passwordPatch, whatever the
// password holds.
func TestPasswordBodyMatchesJSONMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const chars = "aZ09 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\x00\n\x7féü€😀\u2028\xff"
	for i := range 2000 {
		var sb strings.Builder
		for range r.IntN(20) {
			sb.WriteString(string([]rune(chars)[r.IntN(len([]rune(chars)))]))
		}
		if i%7 == 0 {
			sb.WriteString("\xff\xfe") // not UTF-8
		}
		body := passwordPatch{Type: "#microsoft.graph.user"}
		body.Profile.Force, body.Profile.Password = i%2 == 0, sb.String()
		want, _ := json.Marshal(body)
		if got := passwordBody(body.Profile.Password, body.Profile.Force); !bytes.Equal(got, want) {
			t.Fatalf("%q:\n passwordBody %s\n json.Marshal %s", body.Profile.Password, got, want)
		}
	}
}
