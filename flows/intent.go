package flows

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Lexicon is one language's way of saying what the bot acts on, as data: another language is
// added by adding a Lexicon to lexicons, not by changing the matcher.
type Lexicon struct {
	// Phrases rewrites word sequences to one canonical word before matching ("log in",
	// "sign in", "get into" → "login"; "can not" → "cannot"). Longer phrases win.
	Phrases map[string]string
	// Concepts names the words that signal each concept. Words of 5 letters or more also match
	// with one typo (two from 8 letters), unless they are in Plain.
	Concepts map[concept][]string
	// Plain are ordinary words never corrected towards a concept word ("looked" is not
	// "locked").
	Plain []string
	// Suggestions is what "did you mean" offers for each intent, in the language's words.
	Suggestions map[Intent][]string
	// MethodWords name the verification methods in a menu ("email", "text", "app").
	MethodWords map[string]MethodKind
	// Substrings: the language writes words without spaces (Japanese), so a concept word is
	// found anywhere inside the text rather than as a whole word, and no typo is corrected.
	Substrings bool
}

// concept is one signal the rules combine.
type concept string

const (
	cLock     concept = "lock"     // locked, lockout
	cUnlock   concept = "unlock"   // unlock
	cPassword concept = "password" // password, pwd
	cForgot   concept = "forgot"   // forgot, forgotten
	cReset    concept = "reset"    // reset, change, expired
	cLogin    concept = "login"    // log in, sign in, get into, access
	cNeg      concept = "neg"      // cannot, not, unable, fails
	cApp      concept = "app"      // outlook, teams, vpn, laptop (what they are locked out of)
	cRegister concept = "register" // register, enrol, sign up
	cSetup    concept = "setup"    // set up, add, new (weak register)
	cMethod   concept = "method"   // authenticator, methods, mfa
	cHelp     concept = "help"     // help, commands
	cCancel   concept = "cancel"   // cancel, stop
	cStatus   concept = "status"   // status, progress
	cGreet    concept = "greet"    // hi, hello
	cThanks   concept = "thanks"   // thanks, cheers
	cResend   concept = "resend"   // resend
	cSend     concept = "send"     // send
	cAgain    concept = "again"    // again, another, new
	cCode     concept = "code"     // code, email, text
	cReceive  concept = "receive"  // get, receive, arrive
	cQuestion concept = "question" // what, how, where
)

var lexicons = map[string]*Lexicon{"en": &english, "de": &german, "fr": &french, "es": &spanish, "pt-BR": &portuguese,
	"nl": &dutch, "it": &italian, "ja": &japanese}

// detectOrder is the order other languages are tried in when a message means nothing in the
// person's own language.
var detectOrder = []string{"en", "de", "fr", "es", "pt-BR", "nl", "it", "ja"}

var english = Lexicon{
	Phrases: map[string]string{
		"can not": "cannot", "cant": "cannot", "could not": "cannot", "couldnt": "cannot", "unable to": "cannot",
		"log in": "login", "log on": "login", "logon": "login", "log into": "login", "log onto": "login",
		"logging in": "login", "logging into": "login", "logged in": "login", "loggin": "login", "log me in": "login",
		"sign in": "login", "sign into": "login", "sign on": "login", "signin": "login", "signing in": "login",
		"signed in": "login", "sign me in": "login", "get in": "login", "get into": "login", "getting into": "login",
		"getting in": "login", "got into": "login", "let me in": "login", "lets me in": "login", "letting me in": "login",
		"locked out": "lockedout", "lock out": "lockedout", "locked me out": "lockedout", "locking me out": "lockedout",
		"set up": "setup", "sign up": "signup", "sign me up": "signup",
		"thank you": "thanks", "thank u": "thanks", "many thanks": "thanks",
		"good morning": "hello", "good afternoon": "hello", "good evening": "hello", "good day": "hello", "hi there": "hello",
		"never mind": "nevermind", "forget it": "nevermind", "no longer need": "nevermind",
		"send again": "resend", "send it again": "resend", "send another": "resend", "send me another": "resend",
		"send a new": "resend", "send me a new": "resend", "send the code again": "resend", "one more code": "resend",
		"what can you do": "help", "what can i do": "help", "what do you do": "help", "how does this work": "help", "how do i use": "help",
		"what are my options": "help", "what now": "status", "where am i": "status", "where are we": "status",
		"where was i": "status", "where were we": "status", "whats happening": "status", "what step": "status",
		"how far": "status", "whats next": "status", "what next": "status",
		"re send": "resend", "cnt": "cannot", "get onto": "login", "get on to": "login", "get in to": "login",
		"pass word": "password", "user name": "username", "e mail": "email", "two factor": "mfa", "2 factor": "mfa",
		"multi factor": "mfa", "self service": "sspr", "security questions": "questions",
		"security info": "mfa", "security information": "mfa", "what do i do": "help", "what should i do": "help",
		"what do i need to do": "help", "am i registered": "status", "am i set up": "status", "am i enrolled": "status",
	},
	Concepts: map[concept][]string{
		cLock: {"locked", "lockedout", "lockout", "lockouts", "lock", "lockd", "blocked", "disabled", "suspended",
			"frozen", "deactivated"},
		cUnlock:   {"unlock", "unlocked", "unlocking", "unblock", "reactivate", "reenable"},
		cPassword: {"password", "passwords", "pwd", "passwd", "passcode", "pw", "pword", "pin"},
		cForgot:   {"forgot", "forgotten", "forget", "forgetting", "remember", "recall", "lost"},
		cReset: {"reset", "resetting", "change", "changing", "expired", "expire", "expiring", "recover",
			"recovery", "renew", "new"},
		cLogin: {"login", "logins", "access", "authenticate", "enter"},
		cNeg: {"cannot", "not", "unable", "dont", "doesnt", "isnt", "wont", "didnt", "wasnt", "arent", "no", "havent", "hasnt", "nothing", "nope", "without",
			"fail", "fails", "failed", "failing", "failure", "denied", "error", "stuck", "problem", "problems",
			"trouble", "issue", "issues", "rejected", "refused", "incorrect", "wrong", "invalid", "keeps",
			"never"},
		cApp: {"outlook", "teams", "vpn", "laptop", "computer", "pc", "desktop", "workstation", "windows", "mac",
			"macbook", "office", "microsoft", "account", "email", "mail", "portal", "sharepoint", "onedrive",
			"citrix", "wifi", "network", "machine", "o365", "m365", "intranet", "sap", "workday", "okta", "azure",
			"device", "profile", "domain", "office365", "windows10", "windows11", "win10", "win11", "iphone"},
		cRegister: {"register", "registration", "enroll", "enrol", "enrolment", "enrollment", "signup", "onboard"},
		cSetup:    {"setup", "add", "configure", "update", "install"},
		cMethod: {"authenticator", "methods", "method", "mfa", "2fa", "sspr", "questions", "verification",
			"phone", "factor", "factors"},
		cHelp: {"help", "commands", "command", "options", "menu", "usage", "info", "instructions", "howto"},
		cCancel: {"cancel", "stop", "abort", "nevermind", "nvm", "quit", "exit", "cancelled",
			"canceled"},
		cStatus:   {"status", "progress", "state"},
		cGreet:    {"hi", "hello", "hey", "hiya", "helo", "hallo", "yo", "howdy", "greetings", "morning", "afternoon", "evening"},
		cThanks:   {"thanks", "thx", "ty", "tks", "cheers", "thank", "thankyou", "appreciate", "appreciated", "ta"},
		cResend:   {"resend", "resent", "resending"},
		cSend:     {"send", "sent", "sending"},
		cAgain:    {"again", "another", "new", "fresh", "more"},
		cCode:     {"code", "codes", "it", "email", "mail", "text", "sms", "message", "otp", "anything", "nothing"},
		cReceive:  {"get", "got", "getting", "receive", "received", "receiving", "arrive", "arrived", "come", "came", "through", "recieve", "recieved", "waiting", "wait"},
		cQuestion: {"what", "how", "where", "which", "who", "why"},
	},
	Plain: []string{"looked", "looking", "clocked", "socket", "lucky", "chance", "charge", "changes", "loser",
		"closed", "locker", "blocker", "reseller", "presently", "hellos", "thinks", "thing", "things", "helps",
		"helper", "passed", "passes", "poster", "remembered", "sender", "series", "status", "tanks", "later",
		// common short words, never read as a typo of a command word
		"look", "that", "this", "then", "than", "them", "they", "there", "these", "with", "from", "have", "been",
		"your", "when", "will", "just", "like", "some", "time", "here", "want", "need", "work", "does", "made",
		"make", "also", "only", "into", "onto", "were", "what", "much", "many", "very", "well", "good", "today",
		"still", "after", "again", "please", "plz", "pls", "team", "lock", "sent", "send", "room", "slow",
		"says", "said", "same", "home", "hole", "held", "hell", "lets", "mine", "name", "fast", "test", "text",
		"tell", "step", "stay", "stops", "start", "sure", "yes", "okay", "past", "path", "last", "lost", "most",
		"must", "user", "used", "uses", "song", "sink", "long"},
	MethodWords: map[string]MethodKind{
		"authenticator": MethodTOTP, "app": MethodTOTP, "totp": MethodTOTP, "authenticator app": MethodTOTP,
		"email": MethodEmail, "mail": MethodEmail, "e mail": MethodEmail, "email code": MethodEmail,
		"text": MethodSMS, "sms": MethodSMS, "text message": MethodSMS, "txt": MethodSMS, "texts": MethodSMS,
		"call": MethodVoice, "phone call": MethodVoice, "voice": MethodVoice, "ring me": MethodVoice, "phone": MethodVoice,
		"office phone": MethodVoice, "call me": MethodVoice,
		"questions": MethodQuestions, "security questions": MethodQuestions, "question": MethodQuestions,
		"passkey": MethodPasskey, "security key": MethodPasskey, "yubikey": MethodPasskey, "fido": MethodPasskey,
	},
	Suggestions: map[Intent][]string{
		IntentUnlock:   {"I'm locked out", "unlock my account"},
		IntentReset:    {"reset my password", "I forgot my password", "I can't log in"},
		IntentRegister: {"register"},
		IntentStatus:   {"status"},
		IntentCancel:   {"cancel"},
		IntentHelp:     {"help"},
		IntentResend:   {"resend"},
	},
}

// ParseIntent understands an English message; it never echoes the text.
func ParseIntent(text string) Intent { return ParseIntentIn("en", text) }

// ParseIntentIn understands a message in the locale's language (English when there is no
// lexicon for it).
func ParseIntentIn(locale, text string) Intent {
	if !utf8.ValidString(text) || len(text) > MaxTextLen {
		return IntentUnknown
	}
	words := normalise(text)
	if len(words) == 0 {
		if strings.Contains(text, "?") {
			return IntentHelp
		}
		return IntentUnknown
	}
	if isCode(strings.Join(words, "")) && len(words) <= 2 {
		return IntentCode
	}
	lx := lexiconFor(locale)
	return lx.classify(lx.concepts(words, true))
}

// Understand reads a message in the person's language and, when it means nothing there, in
// the other languages the bot speaks (whole words only, no typo guessing, so a stray word does
// not switch languages): lang is the catalog language the message was written in, the one to
// answer in. A code or an unclear message keeps the person's language.
func Understand(locale, text string) (intent Intent, lang string) {
	lang = Lang(locale)
	if !utf8.ValidString(text) || len(text) > MaxTextLen {
		return IntentUnknown, lang
	}
	words := normalise(text)
	if len(words) == 0 || isCode(strings.Join(words, "")) && len(words) <= 2 {
		return ParseIntentIn(lang, text), lang
	}
	if i, l, ok := understandFirst(lang, words); ok {
		return i, l
	}
	intent = ParseIntentIn(lang, text)
	if intent != IntentUnknown {
		return intent, lang
	}
	for _, other := range detectOrder {
		lx, ok := lexicons[other]
		if !ok || lx == lexiconFor(lang) {
			continue
		}
		if i := lx.classify(lx.concepts(words, false)); i != IntentUnknown {
			return i, other
		}
	}
	return intent, lang
}

// understandFirst: the person's language read word for word first, then the other languages
// word for word, and only then the person's language with typos corrected, so "Passwort
// vergessen" from an English-speaking user is German, not a misspelt "password".
func understandFirst(lang string, words []string) (Intent, string, bool) {
	own := lexiconFor(lang)
	if i := own.classify(own.concepts(words, false)); i != IntentUnknown {
		return i, lang, true
	}
	for _, other := range detectOrder {
		lx, ok := lexicons[other]
		if !ok || lx == own {
			continue
		}
		if i := lx.classify(lx.concepts(words, false)); i != IntentUnknown {
			return i, other, true
		}
	}
	return IntentUnknown, lang, false
}

func lexiconFor(locale string) *Lexicon {
	if lx, ok := lexicons[Lang(locale)]; ok {
		return lx
	}
	return lexicons["en"]
}

// maxWords is how much of a message is read for its intent: requests to a helpdesk say what
// they want early, and a long message cannot cost much to understand.
const maxWords = 40

// normalise lowercases, drops apostrophes (so "can't" and "cant" are one word), folds accents
// (people type "oublie" for "oublié", "zurucksetzen" for "zurücksetzen") and splits on
// everything that is not a letter or digit; it keeps the first maxWords words.
func normalise(text string) []string {
	text = foldAccents(text)
	t := strings.Map(func(r rune) rune {
		switch {
		case r == '\'' || r == '’' || r == '`':
			return -1
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			return unicode.ToLower(r)
		default:
			return ' '
		}
	}, text)
	words := strings.Fields(t)
	if len(words) > maxWords {
		words = words[:maxWords]
	}
	return words
}

// foldAccents writes Latin letters without their accents (é → e, ü → u, ñ → n, ß → ss); other
// scripts are left as they are. ASCII text is returned untouched, without allocating.
func foldAccents(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if f, ok := accentFold[unicode.ToLower(r)]; ok {
			b.WriteString(f)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var accentFold = func() map[rune]string {
	m := map[rune]string{'ß': "ss", 'œ': "oe", 'æ': "ae", 'ø': "o"}
	for base, rs := range map[string]string{"a": "àáâãäåā", "c": "çćč", "e": "èéêëēę", "i": "ìíîïī", "n": "ñń",
		"o": "òóôõöō", "u": "ùúûüū", "y": "ýÿ"} {
		for _, r := range rs {
			m[r] = base
		}
	}
	return m
}()

// signals are the concepts found in one message, with the canonical words.
type signals struct {
	has   map[concept]bool
	words []string
}

// concepts corrects typos (when correct is set), rewrites phrases and marks the concepts
// present.
func (lx *Lexicon) concepts(words []string, correct bool) signals {
	idx := lx.index()
	if correct && !lx.Substrings {
		words = idx.correct(words)
	}
	// phrases: longest first, at every position
	out := make([]string, 0, len(words))
	for i := 0; i < len(words); {
		matched := false
		for n := 4; n >= 1; n-- {
			if i+n > len(words) {
				continue
			}
			if c, ok := lx.Phrases[strings.Join(words[i:i+n], " ")]; ok {
				out = append(out, c)
				i += n
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, words[i])
			i++
		}
	}
	sg := signals{has: map[concept]bool{}, words: out}
	for _, w := range out {
		if lx.Substrings {
			// phrases rewrite inside the run-together text ("再設定" is a reset, not a setup)
			for _, p := range lx.substringPhrases() {
				w = strings.ReplaceAll(w, p, lx.Phrases[p])
			}
		}
		for _, c := range idx.exact[w] {
			sg.has[c] = true
		}
		if lx.Substrings {
			for c, ws := range lx.Concepts {
				for _, cw := range ws {
					if strings.Contains(w, cw) {
						sg.has[c] = true
						break
					}
				}
			}
		}
	}
	return sg
}

type lexIndex struct {
	exact map[string][]concept // every known word: concept words and the words of phrases
	plain map[string]bool
	long  []string // known words of 4 letters or more, candidates for typo correction
	// the same as runes
	longRunes [][]rune
}

// correct replaces each unknown word by the known word one edit away (two from 8 letters),
// after squeezing letters typed three times or more ("hellooo") or doubled at the end ("heyy").
func (ix *lexIndex) correct(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = ix.correctWord(w)
	}
	return out
}

func (ix *lexIndex) correctWord(w string) string {
	if _, ok := ix.exact[w]; ok || ix.plain[w] {
		return w
	}
	w = squeeze(w)
	if _, ok := ix.exact[w]; ok {
		return w
	}
	rs := []rune(w)
	if n := len(rs); n >= 3 && rs[n-1] == rs[n-2] {
		if _, ok := ix.exact[string(rs[:n-1])]; ok {
			return string(rs[:n-1])
		}
	}
	if len(rs) < 4 {
		return w
	}
	max := 1
	if len(rs) >= 8 {
		max = 2
	}
	best, bestD := w, max+1
	for i, cand := range ix.longRunes {
		if d := len(cand) - len(rs); d > max || -d > max {
			continue
		}
		if d := editDistanceRunes(rs, cand, bestD); d < bestD {
			best, bestD = ix.long[i], d
		}
	}
	return best
}

// squeeze shortens runs of three or more of one letter to one.
func squeeze(w string) string {
	rs := []rune(w)
	out := rs[:0:0]
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && rs[j] == rs[i] {
			j++
		}
		if j-i >= 3 {
			out = append(out, rs[i])
		} else {
			out = append(out, rs[i:j]...)
		}
		i = j
	}
	return string(out)
}

var indexes = map[*Lexicon]*lexIndex{}

// substringPhrases are a Substrings lexicon's phrases, longest first.
func (lx *Lexicon) substringPhrases() []string {
	ps := make([]string, 0, len(lx.Phrases))
	for p := range lx.Phrases {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		if len(ps[i]) != len(ps[j]) {
			return len(ps[i]) > len(ps[j])
		}
		return ps[i] < ps[j]
	})
	return ps
}

func init() {
	for _, lx := range lexicons {
		indexes[lx] = buildIndex(lx)
	}
}

func (lx *Lexicon) index() *lexIndex {
	if ix, ok := indexes[lx]; ok {
		return ix
	}
	return buildIndex(lx)
}

func buildIndex(lx *Lexicon) *lexIndex {
	ix := &lexIndex{exact: map[string][]concept{}, plain: map[string]bool{}}
	for c, ws := range lx.Concepts {
		for _, w := range ws {
			w = foldAccents(w)
			ix.exact[w] = append(ix.exact[w], c)
		}
	}
	for p, c := range lx.Phrases {
		for _, w := range append(strings.Fields(p), c) {
			if _, ok := ix.exact[w]; !ok {
				ix.exact[w] = nil // a word of a phrase is known, though it has no concept of its own
			}
		}
	}
	for w := range ix.exact {
		if utf8.RuneCountInString(w) >= 4 {
			ix.long = append(ix.long, w)
		}
	}
	// deterministic: candidates in a fixed order
	sort.Strings(ix.long)
	for _, w := range ix.long {
		ix.longRunes = append(ix.longRunes, []rune(w))
	}
	for _, w := range lx.Plain {
		ix.plain[w] = true
	}
	return ix
}

// classify turns the concepts of a message into one intent. Doing something beats talking
// about it: "hi, I'm locked out" is an unlock, "help, I can't log in" a reset.
func (lx *Lexicon) classify(sg signals) Intent {
	h := sg.has
	resend := h[cResend] || (h[cSend] && (h[cAgain] || h[cCode])) ||
		(h[cNeg] && h[cCode] && len(sg.words) <= 3 && !h[cLogin] && !h[cPassword] && !h[cApp]) ||
		(h[cCode] && h[cReset] && !h[cLogin] && !h[cPassword] && !h[cApp] && !h[cSetup]) ||
		(h[cNeg] && h[cReceive] && (h[cCode] || len(sg.words) <= 4) && !h[cLogin] && !h[cPassword]) ||
		(h[cAgain] && h[cCode] && !h[cPassword] && !h[cLogin] && !h[cApp] && !h[cSetup])
	switch {
	case h[cCancel] && !h[cLock] && !h[cPassword]:
		return IntentCancel
	case resend:
		return IntentResend
	case h[cStatus] && !h[cPassword] && !h[cLock]:
		return IntentStatus
	case h[cRegister], h[cSetup] && (h[cMethod] || h[cQuestion] || len(sg.words) <= 2), h[cMethod] && !h[cPassword] && !h[cLock] && !h[cLogin] && !h[cNeg]:
		return IntentRegister
	case h[cUnlock], h[cLock]:
		return IntentUnlock
	case h[cPassword], h[cForgot] && !h[cGreet], h[cReset] && (len(sg.words) <= 3 || h[cApp] || h[cLogin]),
		h[cLogin] && (h[cNeg] || h[cForgot] || h[cHelp] || h[cApp] || h[cQuestion]):
		return IntentReset
	case h[cHelp]:
		return IntentHelp
	case h[cThanks]:
		return IntentThanks
	case h[cGreet]:
		return IntentGreeting
	case h[cQuestion] && len(sg.words) <= 2:
		return IntentHelp
	}
	return IntentUnknown
}

// Suggest returns the phrase closest to an unclear message, so the person gets a way forward
// rather than a bare "didn't understand". It never returns the message itself.
func Suggest(locale, text string) string {
	lx := lexiconFor(locale)
	words := normalise(text)
	sg := lx.concepts(words, true)
	h := sg.has
	pick := func(i Intent) string { return lx.Suggestions[i][0] }
	switch {
	case h[cLock] || h[cUnlock]:
		return pick(IntentUnlock)
	case h[cApp] || h[cNeg] || h[cLogin] || h[cReset]:
		return pick(IntentReset)
	case h[cCode] || h[cReceive] || h[cSend]:
		return pick(IntentResend)
	}
	// the suggestion nearest in spelling
	joined := strings.Join(words, " ")
	best, bestD := pick(IntentHelp), -1
	for _, i := range []Intent{IntentUnlock, IntentReset, IntentRegister, IntentStatus, IntentCancel, IntentHelp} {
		for _, p := range lx.Suggestions[i] {
			cand := strings.Join(normalise(p), " ")
			d := editDistance(joined, cand, 1<<30)
			if bestD < 0 || d < bestD {
				best, bestD = p, d
			}
		}
	}
	if bestD > len(joined)*2/3+1 {
		return pick(IntentHelp)
	}
	return best
}

// editDistance is the optimal string alignment distance (a transposition counts as one edit),
// giving up at limit.
func editDistance(a, b string, limit int) int {
	return editDistanceRunes([]rune(a), []rune(b), limit)
}

func editDistanceRunes(ra, rb []rune, limit int) int {
	if d := len(ra) - len(rb); d >= limit || -d >= limit {
		return limit
	}
	var rows [3][33]int // words are short: no allocation for them
	var prev2, prev, cur []int
	if len(rb) < len(rows[0]) {
		prev2, prev, cur = rows[0][:len(rb)+1], rows[1][:len(rb)+1], rows[2][:len(rb)+1]
	} else {
		prev2, prev, cur = make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			rowMin = min(rowMin, v)
		}
		if rowMin >= limit {
			return limit
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// MethodNamed reads a menu pick typed as a method's name or a common synonym ("email", "text",
// "app", "call", "questions"), with filler words around it ("by email please").
func MethodNamed(locale, text string) (MethodKind, bool) {
	lx := lexiconFor(locale)
	words := normalise(text)
	if len(words) == 0 || len(words) > 4 {
		return "", false
	}
	found := MethodKind("")
	for i := 0; i < len(words); i++ {
		var k MethodKind
		ok := false
		if i+1 < len(words) {
			if k, ok = lx.MethodWords[words[i]+" "+words[i+1]]; ok {
				i++
			}
		}
		if !ok {
			k, ok = lx.MethodWords[words[i]]
		}
		if !ok && lx.Substrings {
			for w, mk := range lx.MethodWords {
				if strings.Contains(words[i], w) && (found == "" || found == mk) {
					k, ok = mk, true
				}
			}
		}
		if !ok {
			continue
		}
		if found != "" && found != k {
			return "", false // two different methods named
		}
		found = k
	}
	return found, found != ""
}

// LooksLikePassword spots a password typed in chat by its shape: a word of 8 or more
// characters mixing letters and digits with a symbol or both cases ("Sunflower#Quartz77"), or
// a word after "password is" / "password:" ("my password is sunflower77"). Known words
// ("Office365") are not passwords.
func LooksLikePassword(locale, text string) bool {
	lx := lexiconFor(locale)
	ix := lx.index()
	fields := strings.Fields(text)
	for i, f := range fields {
		w := strings.TrimRight(f, ".,;!?)\"'")
		w = strings.TrimLeft(w, "(\"'")
		if at := strings.IndexByte(w, '@'); at > 0 && strings.Contains(w[at:], ".") || strings.Contains(w, "://") {
			continue // an address or a link: not this rule's business
		}
		if marked(fields, i) && utf8.RuneCountInString(w) >= 6 && !isCode(w) {
			if _, known := ix.exact[strings.ToLower(w)]; !known && !ix.plain[strings.ToLower(w)] {
				return true
			}
		}
		if utf8.RuneCountInString(w) < 8 || utf8.RuneCountInString(w) > 128 {
			continue
		}
		var lower, upper, digit, symbol bool
		for _, r := range w {
			switch {
			case unicode.IsLower(r):
				lower = true
			case unicode.IsUpper(r):
				upper = true
			case unicode.IsDigit(r):
				digit = true
			case strings.ContainsRune("-./:,'’", r):
				// joins ordinary words ("sign-in", "2-factor", "v1.2")
			default:
				symbol = true
			}
		}
		letter := lower || upper
		if _, known := ix.exact[strings.ToLower(w)]; known {
			continue
		}
		if letter && digit && (symbol || (lower && upper)) || letter && symbol && lower && upper {
			return true
		}
	}
	return false
}

// marked reports whether the word at i follows "password is", "password:", "pw is" or similar.
func marked(fields []string, i int) bool {
	if i == 0 {
		return false
	}
	prev := strings.ToLower(strings.Trim(fields[i-1], ".,;!?\"'"))
	hasPw := func(w string) bool {
		w = strings.ToLower(strings.TrimRight(w, ":=-"))
		return w == "password" || w == "pw" || w == "pwd" || w == "passwd" || w == "passcode"
	}
	if strings.HasSuffix(fields[i-1], ":") || strings.HasSuffix(fields[i-1], "=") {
		return hasPw(fields[i-1])
	}
	if (prev == "is" || prev == "was" || prev == "be") && i >= 2 {
		return hasPw(fields[i-2])
	}
	return false
}
