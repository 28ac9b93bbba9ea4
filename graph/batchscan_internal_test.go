package graph

import (
	"encoding/json"
	"fmt"
	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"testing"
)

// scanBatch reads what encoding/json reads into batchResp, and refuses what it refuses, on a
// batch answer damaged a byte or two at a time (values of other types, broken JSON).
func TestScanBatchMatchesEncodingJSON(t *testing.T) {
	reqs := lookupRequests("u1", true, 0)
	base := `{"responses":[{"id":"memberships","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"}]}},` +
		`{"id":"user","status":404,"body":{"error":{"code":"Request_ResourceNotFound","message":"no \"u1\""}}},` +
		`{"id":"assignments","status":429,"headers":{"Retry-After":"3"},"body":null},{"id":"eligibility","status":200,"body":{"value":[]}}]}`
	r := rand.New(rand.NewPCG(5, 6))
	const bytesToTry = `{}[]":,1n"tf x\e.-IDSB`
	docs := []string{base, `{}`, `{"responses":null}`, `{"responses":[null]}`}
	for range 4000 {
		docs = append(docs, jsonscantest.Damaged(r, base, bytesToTry))
	}
	read := 0
	for _, d := range docs {
		var out struct {
			Responses []batchResp `json:"responses"`
		}
		werr := json.Unmarshal([]byte(d), &out)
		got := map[string]batchResp{}
		err := scanBatch([]byte(d), reqs, got)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s:\n scanBatch %v, encoding/json %v", d, err, werr)
		}
		if err != nil {
			continue
		}
		read++
		want := map[string]batchResp{}
		for _, x := range out.Responses {
			want[x.ID] = x
		}
		if show(got) != show(want) {
			t.Fatalf("%s:\n scanBatch     %s\n encoding/json %s", d, show(got), show(want))
		}
	}
	if read < 500 {
		t.Fatalf("only %d answers read", read)
	}
}

func show(m map[string]batchResp) string {
	s := ""
	for _, id := range slices.Sorted(maps.Keys(m)) {
		r := m[id]
		s += fmt.Sprintf("%q=%q:%d:%q ", id, r.ID, r.Status, r.Body)
	}
	return s
}

// The priority header set directly is the one Header.Set would set.
func TestCanonicalPriorityHeader(t *testing.T) {
	if got := http.CanonicalHeaderKey(priorityHeader); got != canonicalPriorityHeader {
		t.Fatalf("%q is kept as %q", priorityHeader, got)
	}
}

// someValues tells what decoding into struct{ Value []json.RawMessage } tells.
func TestSomeValuesMatchesEncodingJSON(t *testing.T) {
	for _, b := range []string{`{"value":[]}`, `{"value":[{"id":"a"}]}`, `{"@odata.context":"x","value":[null]}`, `{"value":null}`, `{}`,
		`{"value":[1],"value":[]}`, `{"value":{}}`, `[]`, `{"value":[1]`, ``, `{"value":"x"}`} {
		some, err := someValues([]byte(b))
		var v struct {
			Value []json.RawMessage `json:"value"`
		}
		werr := json.Unmarshal([]byte(b), &v)
		if (err != nil) != (werr != nil) || err == nil && some != (len(v.Value) > 0) {
			t.Errorf("%s: %v, %v; encoding/json %d values, %v", b, some, err, len(v.Value), werr)
		}
	}
}

// batchCode reads the code encoding/json reads.
func TestBatchCodeMatchesEncodingJSON(t *testing.T) {
	for _, b := range []string{`{"error":{"code":"AadPremiumLicenseRequired","message":"x","innerError":{"date":"d"}}}`,
		`{"error":{"message":"m"}}`, `{"error":null}`, `{}`, `null`, `{"error":{"code":5}}`, `{"error":"x"}`, `{"error":{"code":"a\u0042"}}`,
		`{"error":{"code":"A"},"error":{"message":"m"}}`, `{"error":{"code":"A"`, ``} {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal([]byte(b), &e)
		if got := batchCode(batchResp{Body: []byte(b)}); got != e.Error.Code {
			t.Errorf("%s: %q, encoding/json %q", b, got, e.Error.Code)
		}
	}
}
