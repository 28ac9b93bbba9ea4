// Package questions is the security-questions method: answers registered and given only on the
// bot's pages, normalised and kept as Argon2id hashes computed under a concurrency limit. The
// policy never lets questions be the only proof, nor a privileged user's.
package questions

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"crypto/rand"

	"golang.org/x/crypto/argon2"

	"github.com/resetbot/resetbot/flows"
)

// Predefined are the questions everyone may pick; bot admins add custom ones in the policy.
var Predefined = []string{
	"What was the name of your first pet?",
	"In what city were you born?",
	"What was the name of your first school?",
	"What is your oldest cousin's first name?",
	"What was the make of your first car?",
	"What street did you grow up on?",
	"What was your childhood nickname?",
	"What is the middle name of your oldest sibling?",
	"In what city did your parents meet?",
	"What was the first concert you attended?",
}

// Params are the Argon2id costs. Default follows OWASP's minimum: 19 MiB, 2 passes, 1 lane.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams is OWASP's recommended minimum for Argon2id.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

// TTL bounds how long a set of asked questions stays answerable.
const TTL = 10 * time.Minute

// Method implements flows.Method for security questions.
type Method struct {
	p        Params
	sem      chan struct{}
	inFlight atomic.Int32
	peak     atomic.Int32
}

var _ flows.Method = (*Method)(nil)

// New builds the method; at most concurrency hashes run at once, so a flood of answers cannot
// exhaust memory (each hash holds MemoryKiB).
func New(p Params, concurrency int) *Method {
	if concurrency < 1 {
		concurrency = 1
	}
	return &Method{p: p, sem: make(chan struct{}, concurrency)}
}

// Peak is the most hashes that ever ran at once.
func (m *Method) Peak() int { return int(m.peak.Load()) }

// Kind is flows.MethodQuestions.
func (*Method) Kind() flows.MethodKind { return flows.MethodQuestions }

// Normalise folds case and spacing so small differences in typing still match.
func Normalise(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

// Choices lists the questions allowed under the policy.
func (*Method) Choices(pol flows.Policy) []string {
	return append(append([]string(nil), Predefined...), pol.CustomQuestions...)
}

// Hash derives the stored form of an answer: params, salt and key.
func (m *Method) Hash(ctx context.Context, answer string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := m.derive(ctx, Normalise(answer), salt, m.p)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("a2id$%d$%d$%d$%s$%s", m.p.MemoryKiB, m.p.Time, m.p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func (m *Method) derive(ctx context.Context, norm string, salt []byte, p Params) ([]byte, error) {
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.sem }()
	n := m.inFlight.Add(1)
	defer m.inFlight.Add(-1)
	for {
		p := m.peak.Load()
		if n <= p || m.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return argon2.IDKey([]byte(norm), salt, p.Time, p.MemoryKiB, p.Threads, 32), nil
}

// Matches checks an answer against a stored hash in constant time.
func (m *Method) Matches(ctx context.Context, answer, stored string) bool {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "a2id" {
		return false
	}
	mem, e1 := strconv.ParseUint(parts[1], 10, 32)
	tm, e2 := strconv.ParseUint(parts[2], 10, 32)
	th, e3 := strconv.ParseUint(parts[3], 10, 8)
	salt, e4 := base64.RawStdEncoding.DecodeString(parts[4])
	want, e5 := base64.RawStdEncoding.DecodeString(parts[5])
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil || mem > 1<<20 || tm > 10 {
		return false
	}
	got, err := m.derive(ctx, Normalise(answer), salt, Params{MemoryKiB: uint32(mem), Time: uint32(tm), Threads: uint8(th)})
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

// Register validates the chosen questions and answers and hashes the answers.
func (m *Method) Register(ctx context.Context, pol flows.Policy, qs, answers []string) (flows.Registered, error) {
	bad := func(id flows.MsgID, args ...any) (flows.Registered, error) {
		return flows.Registered{}, flows.BadInput(id, args...)
	}
	if len(qs) != pol.QuestionsToRegister || len(answers) != len(qs) {
		return bad("input.questions_count", pol.QuestionsToRegister)
	}
	allowed := map[string]bool{}
	for _, q := range m.Choices(pol) {
		allowed[q] = true
	}
	// each refusal names the question or answer it is about (by its number on the page), so
	// the page can say which and keep the others
	seenQ, seenA := map[string]int{}, map[string]int{}
	for i, q := range qs {
		a := Normalise(answers[i])
		first, dupQ := seenQ[q]
		firstA, dupA := seenA[a]
		switch n := utf8.RuneCountInString(a); {
		case !allowed[q]:
			return flows.Registered{}, flows.BadField("q", i, "input.questions_list")
		case dupQ:
			return flows.Registered{}, flows.BadField("q", i, "input.question_same_as", first+1)
		case n < 3 || n > 40:
			return flows.Registered{}, flows.BadField("a", i, "input.answers_length")
		case dupA:
			return flows.Registered{}, flows.BadField("a", i, "input.answer_same_as", firstA+1)
		case strings.Contains(Normalise(q), a):
			return flows.Registered{}, flows.BadField("a", i, "input.answer_in_question")
		}
		seenQ[q], seenA[a] = i, i
	}
	reg := flows.Registered{Kind: flows.MethodQuestions}
	for i, q := range qs {
		h, err := m.Hash(ctx, answers[i])
		if err != nil {
			return flows.Registered{}, err
		}
		reg.Questions = append(reg.Questions, flows.QA{Question: q, Hash: h})
	}
	return reg, nil
}

// Challenge picks which registered questions to ask; the pick is stored as the session's
// pending code so it cannot be re-rolled, and is answered on a one-time page.
func (m *Method) Challenge(_ context.Context, _ flows.Account, e flows.Enrollment, pol flows.Policy, _ string, now time.Time) (flows.Challenge, error) {
	reg, ok := e.Methods[flows.MethodQuestions]
	n := pol.QuestionsToAnswer
	if !ok || len(reg.Questions) < n {
		return flows.Challenge{}, fmt.Errorf("questions: %w", flows.ErrNotFound)
	}
	idx := make([]int, len(reg.Questions))
	for i := range idx {
		idx[i] = i
	}
	for i := len(idx) - 1; i > 0; i-- { // Fisher–Yates with crypto/rand
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return flows.Challenge{}, err
		}
		idx[i], idx[j.Int64()] = idx[j.Int64()], idx[i]
	}
	pick := make([]string, n)
	for i := 0; i < n; i++ {
		pick[i] = strconv.Itoa(idx[i])
	}
	return flows.Challenge{
		Code: &flows.StoredCode{MAC: "q:" + strings.Join(pick, ","), ExpiresAt: now.Add(TTL)},
		Msg:  flows.MsgQuestionsLink, Link: flows.PurposeQuestions,
	}, nil
}

// Asked returns the questions a pending pick asks.
func Asked(e flows.Enrollment, stored flows.StoredCode) ([]string, []int, bool) {
	reg, ok := e.Methods[flows.MethodQuestions]
	ids, found := strings.CutPrefix(stored.MAC, "q:")
	if !ok || !found {
		return nil, nil, false
	}
	var qs []string
	var idx []int
	for _, s := range strings.Split(ids, ",") {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(reg.Questions) {
			return nil, nil, false
		}
		qs, idx = append(qs, reg.Questions[i].Question), append(idx, i)
	}
	return qs, idx, true
}

// Check judges the answers (a JSON list in the order asked): every one must match. Each is
// hashed whatever the others gave, so timing does not tell which was wrong.
func (m *Method) Check(_ flows.Account, e flows.Enrollment, _ string, stored flows.StoredCode, answer string, now time.Time) flows.Proof {
	_, idx, ok := Asked(e, stored)
	if !ok {
		return flows.Proof{}
	}
	if !now.Before(stored.ExpiresAt) {
		return flows.Proof{Expired: true}
	}
	var answers []string
	if json.Unmarshal([]byte(answer), &answers) != nil || len(answers) != len(idx) {
		return flows.Proof{CodeMAC: stored.MAC}
	}
	reg := e.Methods[flows.MethodQuestions]
	all := 1
	for k, i := range idx {
		if !m.Matches(context.Background(), answers[k], reg.Questions[i].Hash) {
			all = 0
		}
	}
	return flows.Proof{Correct: all == 1, CodeMAC: stored.MAC}
}

// Prompts implements flows.Prompter: the questions a pending pick asks.
func (m *Method) Prompts(e flows.Enrollment, stored flows.StoredCode) ([]string, bool) {
	qs, _, ok := Asked(e, stored)
	return qs, ok
}

var (
	_ flows.Prompter          = (*Method)(nil)
	_ flows.QuestionRegistrar = (*Method)(nil)
)
