package flows

import (
	"context"
	"crypto/hmac"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TypedPasswordLifetime is how long after a page set a password a chat message repeating it is
// recognised: long enough for someone to go back to the chat and type it "to check", short so
// the keyed hash does not outlive that moment.
const TypedPasswordLifetime = 15 * time.Minute

// typedPasswordLabel separates these MACs from every other MAC made with the same key (codes,
// link tokens), so one can never stand for another.
const typedPasswordLabel = "typed-password"

// maxPasswordWords bounds the runs of words of a message tried as a passphrase, and
// maxPasswordTries the runs tried in all, so a long message costs a bounded number of MACs.
const (
	maxPasswordWords = 12
	maxPasswordTries = 2000
)

// maxPasswordChecks bounds the comparisons against one kept hash in all its lifetime, counted
// in the store before they are made: whoever holds the person's chat could otherwise test
// thousands of guesses of the new password per message, uncounted, by whether the bot says
// "don't type passwords here". A person repeating their password in a sentence or two spends
// a few dozen; past the bound only the shape rule applies.
const maxPasswordChecks = 200

// keepNewPassword remembers, for TypedPasswordLifetime, the keyed hash of the password a page
// just set for userID, before the page answers: the person may switch to the chat at once.
// The key is the deployment's MAC key (a secret outside Redis), so what Redis holds cannot be
// tested against guesses without it, and it goes when its time is up. Never the password.
func (e *Engine) keepNewPassword(ctx context.Context, userID, pw string) {
	k, ok := e.d.Sessions.(NewPasswords)
	v := e.newPasswordRecord(userID, pw)
	if !ok || v == "" {
		return
	}
	if err := k.KeepNewPassword(ctx, userID, v, keptPasswordTTL); err != nil {
		// the shape rule still catches most typed passwords
		e.d.Log.WarnContext(ctx, "new password's hash not kept", "err", err, "user", userID)
	}
}

// keptPasswordTTL is how long the store keeps a new password's record: a little past the
// lifetime written in it, which is what counts.
const keptPasswordTTL = TypedPasswordLifetime + time.Minute

// newPasswordRecord is what keepNewPassword keeps for pw: its keyed hash and when it stops
// counting; "" when nothing is kept (no store for it, no MAC key).
func (e *Engine) newPasswordRecord(userID, pw string) string {
	if _, ok := e.d.Sessions.(NewPasswords); !ok || e.d.MAC == nil || userID == "" {
		return ""
	}
	now := e.d.Clock.Now()
	return e.d.MAC.MAC(typedPasswordLabel, userID, pw) + "|" + strconv.FormatInt(now.Add(TypedPasswordLifetime).UnixMilli(), 10)
}

// typesNewPassword reports whether the message repeats the password a page set for the
// person minutes ago, alone or among other words ("I set it to 'correct horse battery'").
// Each candidate is compared by its keyed hash in constant time; nothing is kept.
func (e *Engine) typesNewPassword(ctx context.Context, s *step) bool {
	mac, exp, ok := strings.Cut(s.snap.NewPassword, "|")
	if !ok || s.acct.ID == "" || e.d.MAC == nil {
		return false
	}
	if ms, err := strconv.ParseInt(exp, 10, 64); err != nil || !s.now.Before(time.UnixMilli(ms)) {
		return false
	}
	k, ok := e.d.Sessions.(NewPasswords)
	if !ok {
		return false
	}
	var cands []string
	passwordCandidates(s.in.Text, func(c string) { cands = append(cands, c) })
	if len(cands) == 0 {
		return false
	}
	// counted before compared, so guesses cannot be tested against the hash without bound
	used, err := k.SpendPasswordChecks(ctx, s.acct.ID, len(cands))
	if err != nil || used > maxPasswordChecks {
		if err != nil {
			e.d.Log.WarnContext(ctx, "password checks not counted: the message is not compared", "err", err, "user", s.acct.ID)
		}
		return false
	}
	return e.anyIsKept(s.acct.ID, mac, cands)
}

// anyIsKept reports whether one of the candidates has the kept keyed hash mac. Every candidate
// is compared, found or not, so the time taken says nothing.
func (e *Engine) anyIsKept(userID, mac string, cands []string) bool {
	found := false
	for _, c := range cands {
		for _, m := range e.d.MAC.MACs(typedPasswordLabel, userID, c) {
			found = hmac.Equal([]byte(m), []byte(mac)) || found
		}
	}
	return found
}

// passwordCandidates hands each piece of text that could be a password to try: the whole
// message, and every run of up to maxPasswordWords words, as typed and without the quotes and
// sentence punctuation around it. Pieces shorter than the bot's minimum are skipped.
func passwordCandidates(text string, try func(string)) {
	seen := map[string]bool{}
	n := 0
	offer := func(c string) {
		if n >= maxPasswordTries || seen[c] {
			return
		}
		if l := utf8.RuneCountInString(c); l < MinPasswordLength || l > 256 {
			return
		}
		seen[c] = true
		n++
		try(c)
	}
	bare := func(c string) string {
		c = strings.TrimRight(c, ".,;!?")
		return strings.Trim(c, "\"'“”‘’`")
	}
	t := strings.TrimSpace(text)
	offer(t)
	offer(bare(t))
	words := strings.Fields(t)
	for i := range words {
		for j := i + 1; j <= len(words) && j-i <= maxPasswordWords; j++ {
			run := strings.Join(words[i:j], " ")
			offer(run)
			offer(bare(run))
		}
	}
}
