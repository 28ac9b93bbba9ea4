package questions_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/flows/method/questions"
)

var light = questions.Params{MemoryKiB: 64, Time: 1, Threads: 1}

func qs(n int) []string { return questions.Predefined[:n] }

func TestRegisterValidation(t *testing.T) {
	m := questions.New(light, 2)
	pol := flows.DefaultPolicy()
	pol.CustomQuestions = []string{"Which team did you first support?"}
	ok := []string{"Fluffy", "Springfield", "St Mary's"}
	cases := []struct {
		name    string
		qs, ans []string
		want    string
	}{
		{"valid", qs(3), ok, ""},
		{"custom question", []string{qs(2)[0], qs(2)[1], pol.CustomQuestions[0]}, ok, ""},
		{"too few", qs(2), ok[:2], "choose and answer 3"},
		{"unknown question", []string{"What is your password?", qs(3)[1], qs(3)[2]}, ok, "from the list"},
		{"same question twice", []string{qs(1)[0], qs(1)[0], qs(3)[2]}, ok, "different question"},
		{"short answer", qs(3), []string{"ab", "Springfield", "St Mary's"}, "3 to 40"},
		{"long answer", qs(3), []string{strings.Repeat("x", 41), "Springfield", "St Mary's"}, "3 to 40"},
		{"spaces do not count", qs(3), []string{"  a    ", "Springfield", "St Mary's"}, "3 to 40"},
		{"same answer twice", qs(3), []string{"Fluffy", " FLUFFY ", "St Mary's"}, "different answer"},
		{"answer inside its question", qs(3), []string{"first pet", "Springfield", "St Mary's"}, "part of its question"},
	}
	for _, c := range cases {
		reg, err := m.Register(context.Background(), pol, c.qs, c.ans)
		if c.want == "" {
			if err != nil || len(reg.Questions) != 3 {
				t.Errorf("%s: %v", c.name, err)
			}
			for i, qa := range reg.Questions {
				if strings.Contains(qa.Hash, c.ans[i]) || !strings.HasPrefix(qa.Hash, "a2id$") {
					t.Errorf("%s: stored %q", c.name, qa.Hash)
				}
			}
			continue
		}
		if !errors.Is(err, flows.ErrBadRequest) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestChallengeAndCheck(t *testing.T) {
	m := questions.New(light, 2)
	pol := flows.DefaultPolicy()
	pol.QuestionsToRegister, pol.QuestionsToAnswer = 5, 3
	ans := []string{"Fluffy", "Springfield", "St Mary's", "Anna", "Volvo 240"}
	reg, err := m.Register(context.Background(), pol, qs(5), ans)
	if err != nil {
		t.Fatal(err)
	}
	en := flows.Enrollment{Methods: map[flows.MethodKind]flows.Registered{flows.MethodQuestions: reg}}
	now := time.Unix(1_800_000_000, 0)
	ch, err := m.Challenge(context.Background(), flows.Account{}, en, pol, "s", now)
	if err != nil || ch.Link != flows.PurposeQuestions || ch.Code == nil {
		t.Fatalf("%+v %v", ch, err)
	}
	asked, ok := m.Prompts(en, *ch.Code)
	if !ok || len(asked) != 3 {
		t.Fatalf("asked %v", asked)
	}
	answerFor := map[string]string{}
	for i, q := range qs(5) {
		answerFor[q] = ans[i]
	}
	var right, oneWrong []string
	for i, q := range asked {
		right = append(right, "  "+strings.ToUpper(answerFor[q])+" ")
		if i == 1 {
			oneWrong = append(oneWrong, "nope")
		} else {
			oneWrong = append(oneWrong, answerFor[q])
		}
	}
	j := func(a []string) string { b, _ := json.Marshal(a); return string(b) }
	if p := m.Check(flows.Account{}, en, "s", *ch.Code, j(right), now); !p.Correct || p.CodeMAC != ch.Code.MAC {
		t.Fatalf("right answers refused: %+v", p)
	}
	if p := m.Check(flows.Account{}, en, "s", *ch.Code, j(oneWrong), now); p.Correct {
		t.Fatal("one wrong answer accepted")
	}
	if p := m.Check(flows.Account{}, en, "s", *ch.Code, j(right[:2]), now); p.Correct {
		t.Fatal("too few answers accepted")
	}
	if p := m.Check(flows.Account{}, en, "s", *ch.Code, j(right), now.Add(questions.TTL)); p.Correct || !p.Expired {
		t.Fatal("expired pick accepted")
	}
}

func TestHashingRespectsTheConcurrencyLimit(t *testing.T) {
	m := questions.New(questions.Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 2)
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Hash(context.Background(), "an answer"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := m.Peak(); p < 1 || p > 2 {
		t.Fatalf("%d hashes ran at once, limit 2", p)
	}
}

func TestPrivilegedNeverAndNeverAlone(t *testing.T) {
	if flows.Complete([]flows.MethodKind{flows.MethodQuestions}, 1) {
		t.Fatal("questions alone completed a reset")
	}
	if !flows.Complete([]flows.MethodKind{flows.MethodQuestions, flows.MethodEmail}, 2) || !flows.Complete([]flows.MethodKind{flows.MethodEmail}, 1) {
		t.Fatal("valid proofs refused")
	}
}
