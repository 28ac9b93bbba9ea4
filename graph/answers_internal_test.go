package graph

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/resetbot/resetbot/internal/jsonscan/jsonscantest"
)

// matchesEncodingJSON checks that read reads what json.Unmarshal reads into a new T, and refuses
// what it refuses, on doc and on copies of it damaged a byte or two at a time.
func matchesEncodingJSON[T any](t *testing.T, read func([]byte, *T) error, seed uint64, docs ...string) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed+1))
	const bytesToTry = "{}[]\":,1n\"tf x\\e.-IDSBV\xff"
	all := append([]string{`{}`, `null`, `[]`, `""`}, docs...)
	for _, d := range docs {
		for range 3000 {
			all = append(all, jsonscantest.Damaged(r, d, bytesToTry))
		}
	}
	read1 := 0
	for _, d := range all {
		var want, got T
		werr := json.Unmarshal([]byte(d), &want)
		err := read([]byte(d), &got)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s:\n read %v, encoding/json %v", d, err, werr)
		}
		if err != nil {
			continue
		}
		read1++
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n read          %s\n encoding/json %s", d, showAnswer(got), showAnswer(want))
		}
	}
	if read1 < len(all)/10 {
		t.Fatalf("only %d of %d documents read", read1, len(all))
	}
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
