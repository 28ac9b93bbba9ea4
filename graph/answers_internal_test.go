package graph

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
)

// matchesEncodingJSON checks that read reads what json.Unmarshal reads into a new T, and refuses
// what it refuses, on doc and on copies of it damaged a byte or two at a time: each document read
// as a plain answer and, when it is JSON, as a batched answer's body (a Value checked with the
// document it is part of).
func matchesEncodingJSON[T any](t *testing.T, read func(answer, *T) error, seed uint64, docs ...string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	const bytesToTry = "{}[]\":,1n\"tf x\\e.-IDSBV\xff"
	all := append([]string{`{}`, `null`, `[]`, `""`}, docs...)
	for _, d := range docs {
		for range 3000 {
			all = append(all, jsonscantest.Damaged(r, d, bytesToTry))
		}
	}
	read1, checked := 0, 0
	for _, d := range all {
		var want, got T
		werr := json.Unmarshal([]byte(d), &want)
		err := read(plain([]byte(d)), &got)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s:\n read %v, encoding/json %v", d, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n read          %s\n encoding/json %s", d, showAnswer(got), showAnswer(want))
		}
		if a, ok := checkedAnswer(t, d); ok {
			var cgot T
			cerr := read(a, &cgot)
			if (cerr != nil) != (werr != nil) {
				t.Fatalf("%s:\n read checked %v, encoding/json %v", d, cerr, werr)
			}
			if cerr == nil && !reflect.DeepEqual(cgot, want) {
				t.Fatalf("%s:\n read checked  %s\n encoding/json %s", d, showAnswer(cgot), showAnswer(want))
			}
			checked++
		}
		if err == nil {
			read1++
		}
	}
	if checked < len(all)/10 {
		t.Fatalf("only %d of %d documents read as checked Values", checked, len(all))
	}
	if read1 < len(all)/10 {
		t.Fatalf("only %d of %d documents read", read1, len(all))
	}
}

// checkedAnswer is d as a batched answer's body: the Value scanBatch hands out for it (false: d
// is not JSON, and no batch answer holds it).
func checkedAnswer(t *testing.T, d string) (answer, bool) {
	t.Helper()
	if !json.Valid([]byte(d)) {
		return answer{}, false
	}
	got := map[string]batchResp{}
	if err := scanBatch([]byte(`{"responses":[{"id":"x","status":200,"body":`+d+`}]}`), nil, got); err != nil {
		t.Fatalf("%s: a batch answer of it is refused: %v", d, err)
	}
	r := got["x"]
	if !r.checked || string(r.Body) != strings.Trim(d, " \t\r\n") {
		t.Fatalf("%s: the batch answer's body is %q (checked %v)", d, r.Body, r.checked)
	}
	return r.answer(), true
}

func showAnswer(v any) string {
	b, _ := json.Marshal(v)
	return fmt.Sprintf("%+v %s", v, b)
}

// The look-up's answers are read as encoding/json reads them into the same structs.
func TestAnswersMatchEncodingJSON(t *testing.T) {
	user := `{"@odata.context":"x","id":"a11ce","displayName":"Al\u00efce","mail":"alice@contoso.test","userPrincipalName":"alice@contoso.test",` +
		`"accountEnabled":true,"onPremisesSyncEnabled":null,"onPremisesSecurityIdentifier":"S-1-5","preferredLanguage":"en","ID":"x","MAIL":null}`
	matchesEncodingJSON(t, readUser, 1, user)
	matchesEncodingJSON(t, readFound, 2, `{"value":[`+user+`,{"id":"b0b","accountEnabled":false}],"value":[null,{"mail":"m"}]}`,
		`{"@odata.context":"x","value":[]}`, `{"value":null}`)
	matchesEncodingJSON(t, readMemberships, 3,
		`{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1","isAssignableToRole":true},{"@odata.type":"#microsoft.graph.directoryRole","id":"r1"},`+
			`{"@odata.type":"#microsoft.graph.group","id":"g2","isAssignableToRole":null}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/next"}`,
		`{"value":[{"id":"g1","isAssignableToRole":false}],"value":[{"isAssignableToRole":true},null,{"ID":"g3"}],"value":[{"id":"g4"}],"value":[{},{},{}],"@odata.nextLink":null}`)
}
