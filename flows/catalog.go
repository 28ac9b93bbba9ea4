package flows

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/message/catalog"
)

// MsgID is the stable id of a catalog message.
type MsgID string

// The catalog's message ids.
const (
	MsgHelp          MsgID = "help"
	MsgHelpdesk      MsgID = "helpdesk"
	MsgNotUnderstood MsgID = "not_understood"
	MsgBadInput      MsgID = "bad_input"
	MsgMustRegister  MsgID = "must_register"
	// MsgLockedUnregistered: locked out in AD and not registered; registering needs the AD
	// password, which a locked account cannot prove, so the only way on is the helpdesk.
	MsgLockedUnregistered MsgID = "locked_unregistered"
	// MsgSlowDown: a chat adapter refused messages beyond a person's small queue.
	MsgSlowDown          MsgID = "slow_down"
	MsgChooseMethod      MsgID = "choose_method"
	MsgEnterTOTP         MsgID = "enter_totp"
	MsgEmailSent         MsgID = "email_sent"
	MsgCodeWrong         MsgID = "code_wrong"
	MsgCodeExpired       MsgID = "code_expired"
	MsgBlocked           MsgID = "blocked"
	MsgTooManyCodes      MsgID = "too_many_codes"
	MsgProvenMore        MsgID = "proven_more"
	MsgResetLink         MsgID = "reset_link"
	MsgUnlockIsReset     MsgID = "unlock_is_reset"
	MsgUnlocked          MsgID = "unlocked"
	MsgUnlockedResetToo  MsgID = "unlocked_reset_too"
	MsgNotLocked         MsgID = "not_locked"
	MsgLockedAlert       MsgID = "locked_alert"
	MsgLockedAlertOnly   MsgID = "locked_alert_only" // the alert without "Unlock it now", for who may not self-serve
	MsgRegisterLink      MsgID = "register_link"
	MsgCancelled         MsgID = "cancelled"
	MsgNothingToCancel   MsgID = "nothing_to_cancel"
	MsgStatusIdle        MsgID = "status_idle"
	MsgStatusSession     MsgID = "status_session"
	MsgExpired           MsgID = "expired"
	MsgStaleButton       MsgID = "stale_button"
	MsgBusy              MsgID = "busy"
	MsgTrouble           MsgID = "trouble"
	MsgPasswordChanged   MsgID = "password_changed"
	MsgRegistered        MsgID = "registered"
	MsgUseButtons        MsgID = "use_buttons"
	MsgNoSecretsHere     MsgID = "no_secrets_here"
	MsgNotAdmin          MsgID = "not_admin"
	MsgAdminSoon         MsgID = "admin_soon"
	MsgPlatformRefused   MsgID = "platform_refused"
	MsgWorking           MsgID = "working"
	MsgSMSSent           MsgID = "sms_sent"
	MsgCallPlaced        MsgID = "call_placed"
	MsgPhoneBudget       MsgID = "phone_budget"
	MsgQuestionsLink     MsgID = "questions_link"
	MsgAnswersWrong      MsgID = "answers_wrong"
	MsgReconfirmDue      MsgID = "reconfirm_due"
	MsgAdmin             MsgID = "admin"
	MsgReminder          MsgID = "reminder"
	MsgReminderReconfirm MsgID = "reminder_reconfirm"
	MsgSnoozed           MsgID = "snoozed"
	MsgSnoozeLimit       MsgID = "snooze_limit"
	MsgNotMe             MsgID = "not_me"
	MsgGreeting          MsgID = "greeting"
	MsgPasswordTyped     MsgID = "password_typed"
	MsgRegisteredShort   MsgID = "registered_short"
	MsgNothingYet        MsgID = "nothing_yet"
	MsgChooseUnlock      MsgID = "choose_unlock"
	MsgProofOne          MsgID = "proof_one"
	MsgProofMany         MsgID = "proof_many"
	MsgStatusRegistered  MsgID = "status_registered"
	MsgStatusShort       MsgID = "status_short" // registered, but fewer ways than the policy needs
	MsgStatusNothing     MsgID = "status_nothing"
	MsgStepChoose        MsgID = "step_choose"
	MsgStepCode          MsgID = "step_code"
	MsgStepQuestions     MsgID = "step_questions"
	MsgStepResetLink     MsgID = "step_reset_link"
	MsgStepRegisterLink  MsgID = "step_register_link"
	MsgStepAdminLink     MsgID = "step_admin_link"
	MsgStepNone          MsgID = "step_none"
	MsgDoReset           MsgID = "do_reset"
	MsgDoUnlock          MsgID = "do_unlock"
	MsgCodeUsed          MsgID = "code_used"
	MsgTriesLeft         MsgID = "tries_left"
	MsgBlockedUntil      MsgID = "blocked_until"
	MsgOrAnother         MsgID = "or_another"
	MsgChooseMethodAgain MsgID = "choose_method_again"
	MsgNothingToResend   MsgID = "nothing_to_resend"
	MsgTOTPNotSent       MsgID = "totp_not_sent"
	MsgThanks            MsgID = "thanks"

	// added on main by other issues
	MsgPasskeyLink             MsgID = "passkey_link"
	MsgPasskeyWrong            MsgID = "passkey_wrong"
	MsgStepPasskey             MsgID = "step_passkey"
	MsgNotHelpdesk             MsgID = "not_helpdesk"
	MsgHelpdeskUsage           MsgID = "helpdesk_usage"
	MsgHelpdeskNoUser          MsgID = "helpdesk_no_user"
	MsgHelpdeskSelf            MsgID = "helpdesk_self"
	MsgHelpdeskDisabled        MsgID = "helpdesk_disabled"
	MsgHelpdeskLimit           MsgID = "helpdesk_limit"
	MsgHelpdeskNumber          MsgID = "helpdesk_number"
	MsgHelpdeskAsk             MsgID = "helpdesk_ask"
	MsgHelpdeskNotOnCall       MsgID = "helpdesk_not_on_call"
	MsgHelpdeskNoCode          MsgID = "helpdesk_no_code"
	MsgHelpdeskCodeDone        MsgID = "helpdesk_code_done"
	MsgHelpdeskCodeAsked       MsgID = "helpdesk_code_asked"
	MsgHelpdeskReadBack        MsgID = "helpdesk_read_back"
	MsgHelpdeskNoAsk           MsgID = "helpdesk_no_ask"
	MsgHelpdeskNotVerified     MsgID = "helpdesk_not_verified"
	MsgHelpdeskVerified        MsgID = "helpdesk_verified"
	MsgHelpdeskByNumber        MsgID = "helpdesk_by_number"
	MsgHelpdeskByCode          MsgID = "helpdesk_by_code"
	MsgHelpdeskAnd             MsgID = "helpdesk_and"
	MsgHelpdeskTimedOut        MsgID = "helpdesk_timed_out"
	MsgHelpdeskOver            MsgID = "helpdesk_over"
	MsgHelpdeskNotMe           MsgID = "helpdesk_not_me"
	MsgHelpdeskAdminAlert      MsgID = "helpdesk_admin_alert"
	MsgHelpdeskWrongNumber     MsgID = "helpdesk_wrong_number"
	MsgHelpdeskMatched         MsgID = "helpdesk_matched"
	MsgHelpdeskLinkPrivileged  MsgID = "helpdesk_link_privileged"
	MsgHelpdeskLinkNeedsCodes  MsgID = "helpdesk_link_needs_codes"
	MsgHelpdeskLinkRefused     MsgID = "helpdesk_link_refused"
	MsgHelpdeskLinkSent        MsgID = "helpdesk_link_sent"
	MsgHelpdeskResetLink       MsgID = "helpdesk_reset_link"
	MsgExpiryReminder          MsgID = "expiry_reminder"
	MsgExpiryChangeNow         MsgID = "expiry_change_now"
	MsgExpiryReminderOnly      MsgID = "expiry_reminder_only"
	MsgExpiryToday             MsgID = "expiry_today"
	MsgExpiryTomorrow          MsgID = "expiry_tomorrow"
	MsgExpiryInDays            MsgID = "expiry_in_days"
	MsgChangeLink              MsgID = "change_link"
	MsgStepChangeLink          MsgID = "step_change_link"
	MsgReportExpiry            MsgID = "report_expiry"
	MsgReportExpiryUnavailable MsgID = "report_expiry_unavailable"
	MsgRecoverHint             MsgID = "recover_hint"
	MsgRecoverTitle            MsgID = "recover_title"
	MsgRecoverIntro            MsgID = "recover_intro"
	MsgRecoverName             MsgID = "recover_name"
	MsgRecoverWhat             MsgID = "recover_what"
	MsgRecoverAnswersWrong     MsgID = "recover_answers_wrong"
	MsgRecoverForgot           MsgID = "recover_forgot"
	MsgRecoverLocked           MsgID = "recover_locked"
	MsgRecoverFirst            MsgID = "recover_first"
	MsgRecoverAppCode          MsgID = "recover_app_code"
	MsgRecoverCheck            MsgID = "recover_check"
	MsgRecoverSendEmail        MsgID = "recover_send_email"
	MsgRecoverSendPhone        MsgID = "recover_send_phone"
	MsgRecoverSentEmail        MsgID = "recover_sent_email"
	MsgRecoverSentPhone        MsgID = "recover_sent_phone"
	MsgRecoverCode             MsgID = "recover_code"
	MsgRecoverRefused          MsgID = "recover_refused"
	MsgRecoverMore             MsgID = "recover_more"
	MsgRecoverUse              MsgID = "recover_use"
	MsgRecoverAwait            MsgID = "recover_await"
	MsgRecoverLimit            MsgID = "recover_limit"
	MsgRecoverSlow             MsgID = "recover_slow"
	MsgRecoverBusy             MsgID = "recover_busy"
	MsgRecoverStartOver        MsgID = "recover_start_over"
	MsgRecoverAgain            MsgID = "recover_again"
	MsgRecoverContinue         MsgID = "recover_continue"
	MsgRecoverWorking          MsgID = "recover_working"
	MsgRecoverNoScript         MsgID = "recover_no_script"
	MsgRecoverTrouble          MsgID = "recover_trouble"
)

// The catalogs: one JSON file per language under locales/, named by its BCP 47 tag
// ("de.json", "pt-BR.json"), embedded in the binary. LOCALES_DIR adds or replaces languages by
// dropping in a file of the same shape (see LoadLocales).
//
//go:embed locales/*.json
var embeddedLocales embed.FS

// Text renders a catalog message in the language that best matches the locale ("de-AT" → de,
// "pt" → pt-BR), falling back to English. Placeholders are printf verbs; a translation may
// reorder them with explicit indexes ("%[2]s … %[1]d"). Numbers follow the language's rules.
func Text(locale string, id MsgID, args ...any) string {
	return catalogs.Load().text(locale, id, args...)
}

// Lang is the catalog language used for a locale: "de", "pt-BR", or "en" when none matches.
func Lang(locale string) string { return catalogs.Load().lang(locale) }

// Languages lists the catalog languages, English first.
func Languages() []string { return slices.Clone(catalogs.Load().names) }

// LanguageName is a language's own name for itself ("Deutsch"), for a language switcher.
func LanguageName(lang string) string { return Text(lang, "language.name") }

// MatchAcceptLanguage picks the catalog language for an HTTP Accept-Language header.
func MatchAcceptLanguage(header string) string {
	c := catalogs.Load()
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf == language.No {
		return "en"
	}
	return c.names[i]
}

// CheckLocales reports what LoadLocales would refuse in dir, changing nothing.
func CheckLocales(dir fs.FS) error {
	_, err := buildCatalog(embeddedLocales, "locales", dir)
	return err
}

// LoadLocales adds the catalogs found in dir (files named <tag>.json) to the embedded ones,
// replacing a language that both have. Every file must have every English key with the same
// placeholders; all problems are reported at once and nothing is changed then.
func LoadLocales(dir fs.FS) error {
	c, err := buildCatalog(embeddedLocales, "locales", dir)
	if err != nil {
		return err
	}
	catalogs.Store(c)
	catalogGen.Add(1)
	return nil
}

// catalogGen counts the catalogs loaded since start.
var catalogGen atomic.Uint64

// CatalogGeneration changes whenever LoadLocales replaces the catalogs: what was rendered from
// the messages before (the web pages' skeletons) is rendered again.
func CatalogGeneration() uint64 { return catalogGen.Load() }

// catalogs is initialised before any package variable that reads a message (Go orders package
// initialisation by dependency).
var catalogs = func() *atomic.Pointer[msgCatalog] {
	c, err := buildCatalog(embeddedLocales, "locales", nil)
	if err != nil {
		panic("flows: embedded catalogs: " + err.Error())
	}
	var p atomic.Pointer[msgCatalog]
	p.Store(c)
	return &p
}()

// entry is one message of one language: a plain text, or plural forms chosen by the CLDR plural
// rules of the language on argument Arg (1-based; default 1).
type entry struct {
	Text   string
	Forms  map[string]string // "one", "other", ... (CLDR categories)
	Arg    int
	plural bool
	// strArgs is the number of arguments of a text whose placeholders are all %s (numbered
	// 1 to strArgs), which the language's printer formats as fmt does; -1 for any other
	strArgs int
}

// stringArgs is entry's strArgs for text.
func stringArgs(text string) int {
	ph, err := Placeholders(text)
	if err != nil || strings.Contains(text, "${") { // ${name}: the printer's substitutions
		return -1
	}
	for i := 1; i <= len(ph); i++ {
		if ph[i] != 's' {
			return -1
		}
	}
	return len(ph)
}

func (e *entry) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &e.Text); err == nil {
		return nil
	}
	var forms map[string]json.RawMessage
	if err := json.Unmarshal(b, &forms); err != nil {
		return errors.New("a message is a string or an object of plural forms")
	}
	e.plural, e.Arg, e.Forms = true, 1, map[string]string{}
	for k, v := range forms {
		if k == "arg" {
			if err := json.Unmarshal(v, &e.Arg); err != nil || e.Arg < 1 {
				return errors.New("plural \"arg\" must be an argument number from 1")
			}
			continue
		}
		if !slices.Contains(pluralForms, k) {
			return fmt.Errorf("unknown plural form %q (want one of %s)", k, strings.Join(pluralForms, ", "))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("plural form %q is not a string", k)
		}
		e.Forms[k] = s
	}
	if _, ok := e.Forms["other"]; !ok {
		return errors.New("plural forms need \"other\"")
	}
	return nil
}

// pluralForms are CLDR's plural categories, in the order x/text expects cases.
var pluralForms = []string{"zero", "one", "two", "few", "many", "other"}

// texts are the message's texts: one, or each plural form.
func (e entry) texts() []string {
	if !e.plural {
		return []string{e.Text}
	}
	var out []string
	for _, f := range pluralForms {
		if s, ok := e.Forms[f]; ok {
			out = append(out, s)
		}
	}
	return out
}

type msgCatalog struct {
	names    []string // "en" first, then the others sorted
	msgs     map[string]map[MsgID]entry
	matcher  language.Matcher
	printers map[string]*message.Printer

	// matched remembers lang's answer for the locales seen (every message of a reply asks
	// again; parsing and matching a tag is most of the cost of a short text), at most
	// maxMatched of them, since a locale may come from outside.
	matched  sync.Map // locale → catalog language
	nMatched atomic.Int32
}

// maxMatched bounds the locales msgCatalog.lang remembers.
const maxMatched = 256

func (c *msgCatalog) lang(locale string) string {
	if locale == "" {
		return "en"
	}
	if _, ok := c.msgs[locale]; ok {
		return locale
	}
	if l, ok := c.matched.Load(locale); ok {
		return l.(string)
	}
	l := c.match(locale)
	if c.nMatched.Load() < maxMatched {
		c.nMatched.Add(1)
		c.matched.Store(locale, l)
	}
	return l
}

// match is the catalog language closest to a locale (a BCP 47 tag, or with "_" for "-").
func (c *msgCatalog) match(locale string) string {
	tag, err := language.Parse(strings.ReplaceAll(locale, "_", "-"))
	if err != nil {
		return "en"
	}
	_, i, conf := c.matcher.Match(tag)
	if conf == language.No {
		return "en"
	}
	return c.names[i]
}

func (c *msgCatalog) text(locale string, id MsgID, args ...any) string {
	lang := c.lang(locale)
	if _, ok := c.msgs[lang][id]; !ok {
		lang = "en"
	}
	e, ok := c.msgs[lang][id]
	if !ok {
		return string(id)
	}
	if len(args) == 0 && !e.plural {
		return e.Text
	}
	if !e.plural && len(args) == e.strArgs && allStrings(args) {
		// what the printer makes of strings, without its per-call set-up (four allocations)
		return fmt.Sprintf(e.Text, args...)
	}
	return c.printers[lang].Sprintf(string(id), args...)
}

func allStrings(args []any) bool {
	for _, a := range args {
		if _, ok := a.(string); !ok {
			return false
		}
	}
	return true
}

// buildCatalog reads the embedded files, then those of extra (which may be nil), and checks
// every language against English.
func buildCatalog(embedded fs.FS, dir string, extra fs.FS) (*msgCatalog, error) {
	files := map[string]map[MsgID]entry{}
	var problems []string
	read := func(fsys fs.FS, dir string) {
		names, err := fs.Glob(fsys, path.Join(dir, "*.json"))
		if err != nil {
			problems = append(problems, err.Error())
			return
		}
		for _, name := range names {
			base := strings.TrimSuffix(path.Base(name), ".json")
			tag, err := language.Parse(base)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: the file name is not a language tag", name))
				continue
			}
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			var m map[MsgID]entry
			if err := json.Unmarshal(b, &m); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			files[tag.String()] = m
		}
	}
	read(embedded, dir)
	if extra != nil {
		read(extra, ".")
	}
	en, ok := files["en"]
	if !ok {
		problems = append(problems, "no English catalog (en.json)")
	}
	c := &msgCatalog{msgs: files, printers: map[string]*message.Printer{}}
	for name := range files {
		if name != "en" {
			c.names = append(c.names, name)
		}
	}
	sort.Strings(c.names)
	c.names = append([]string{"en"}, c.names...)
	for _, name := range c.names[1:] {
		problems = append(problems, CheckCatalog(name, en, files[name])...)
	}
	if len(problems) > 0 {
		return nil, errors.New("message catalogs: " + strings.Join(problems, "; "))
	}
	for _, m := range files {
		for id, e := range m {
			e.strArgs = -1
			if !e.plural {
				e.strArgs = stringArgs(e.Text)
			}
			m[id] = e
		}
	}
	b := catalog.NewBuilder(catalog.Fallback(language.English))
	tags := make([]language.Tag, len(c.names))
	for i, name := range c.names {
		tags[i] = language.MustParse(name)
		for id, e := range files[name] {
			if !e.plural {
				_ = b.SetString(tags[i], string(id), e.Text)
				continue
			}
			var cases []any
			for _, f := range pluralForms {
				if s, ok := e.Forms[f]; ok {
					cases = append(cases, f, s)
				}
			}
			if err := b.Set(tags[i], string(id), plural.Selectf(e.Arg, "%d", cases...)); err != nil {
				return nil, fmt.Errorf("message catalogs: %s %s: %w", name, id, err)
			}
		}
	}
	for i, name := range c.names {
		c.printers[name] = message.NewPrinter(tags[i], message.Catalog(b))
	}
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// CheckCatalogFile compares one language's file with the English file (both JSON), as the
// loader does.
func CheckCatalogFile(name string, en, other []byte) []string {
	var e, o map[MsgID]entry
	if err := json.Unmarshal(en, &e); err != nil {
		return []string{"en: " + err.Error()}
	}
	if err := json.Unmarshal(other, &o); err != nil {
		return []string{name + ": " + err.Error()}
	}
	return CheckCatalog(name, e, o)
}

// CheckCatalog compares one language's messages with English: every key present, no key
// English lacks, and every text with the same placeholders (argument number and verb) as the
// English text. A plural form may leave out the number it is chosen by ("one try left").
func CheckCatalog(name string, en, other map[MsgID]entry) []string {
	var problems []string
	for id, want := range en {
		got, ok := other[id]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is missing", name, id))
			continue
		}
		wantPH := placeholderSet(want.texts())
		for _, s := range got.texts() {
			ph, err := Placeholders(s)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", name, id, err))
				continue
			}
			if got.plural {
				delete(wantPH, got.Arg)
				if v, ok := ph[got.Arg]; ok && v != 'd' && v != 'v' {
					problems = append(problems, fmt.Sprintf("%s: %s: the plural's number is %%%c", name, id, v))
				}
				delete(ph, got.Arg)
			}
			if !maps.Equal(ph, wantPH) {
				problems = append(problems, fmt.Sprintf("%s: %s has placeholders %s, English has %s", name, id, phString(ph), phString(wantPH)))
			}
			wantPH = placeholderSet(want.texts())
		}
	}
	for id := range other {
		if _, ok := en[id]; !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is not in English", name, id))
		}
	}
	sort.Strings(problems)
	return problems
}

func placeholderSet(texts []string) map[int]rune {
	out := map[int]rune{}
	for _, s := range texts {
		ph, _ := Placeholders(s)
		maps.Copy(out, ph)
	}
	return out
}

func phString(ph map[int]rune) string {
	var parts []string
	for _, i := range slices.Sorted(maps.Keys(ph)) {
		parts = append(parts, fmt.Sprintf("%%[%d]%c", i, ph[i]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Placeholders reads a printf format: argument number (1-based) → verb, resolving implicit
// and explicit ("%[2]s") argument numbers as fmt does. An argument used twice must use the
// same verb.
func Placeholders(format string) (map[int]rune, error) {
	out := map[int]rune{}
	next := 1
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue
		}
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i < len(format) && format[i] == '[' {
			j := strings.IndexByte(format[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unclosed %%[ in %q", format)
			}
			n, err := strconv.Atoi(format[i+1 : i+j])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad argument number in %q", format)
			}
			next = n
			i += j + 1
		}
		for i < len(format) && strings.IndexByte("+-# 0123456789.", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return nil, fmt.Errorf("%% at the end of %q", format)
		}
		v := rune(format[i])
		if old, ok := out[next]; ok && old != v {
			return nil, fmt.Errorf("argument %d is both %%%c and %%%c in %q", next, old, v, format)
		}
		out[next] = v
		next++
	}
	return out, nil
}

// methodNoun names a method inside a sentence ("the code from your %s").
func methodNoun(locale string, m MethodKind) string {
	if ids, ok := methodMsgs[m]; ok {
		return Text(locale, ids.noun)
	}
	return Text(locale, MsgID("method."+string(m)+".noun"))
}

// methodLabel names a method on a button or in a list ("Email code").
func methodLabel(locale string, m MethodKind) string {
	if ids, ok := methodMsgs[m]; ok {
		return Text(locale, ids.label)
	}
	return Text(locale, MsgID("method."+string(m)+".label"))
}

// methodMsgs are the message ids methodNoun and methodLabel build, made once for the methods
// there are (never changed).
var methodMsgs = func() map[MethodKind]struct{ noun, label MsgID } {
	out := map[MethodKind]struct{ noun, label MsgID }{}
	for _, m := range []MethodKind{MethodTOTP, MethodEmail, MethodSMS, MethodVoice, MethodQuestions, MethodPasskey, MethodNewPassword} {
		out[m] = struct{ noun, label MsgID }{MsgID("method." + string(m) + ".noun"), MsgID("method." + string(m) + ".label")}
	}
	return out
}()

// MethodLabel names a method for people in the locale's language.
func MethodLabel(locale string, m MethodKind) string { return methodLabel(locale, m) }

// FormatWhen writes a moment for people in their language and time zone:
// "Tuesday 1 December 2026 at 09:00 (CET)", "2026年12月1日（火）9:00（JST）".
func FormatWhen(locale string, t time.Time, loc *time.Location) string {
	return formatMoment(locale, "format.when", t, loc)
}

// FormatDate writes a day for people in their language: "1 December 2026", "1. Dezember 2026".
func FormatDate(locale string, t time.Time, loc *time.Location) string {
	return formatMoment(locale, "format.date", t, loc)
}

// formatMoment fills a date format of the catalog: %[1]s weekday, %[2]s day, %[3]s month,
// %[4]s year, %[5]s time, %[6]s zone (strings, so no language groups the year's digits).
func formatMoment(locale string, id MsgID, t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	wd, mo := t.Weekday().String(), t.Month().String()
	if d, ok := nthField(Text(locale, "format.weekdays"), int(t.Weekday()), 7); ok {
		wd = strings.TrimSpace(d)
	}
	if m, ok := nthField(Text(locale, "format.months"), int(t.Month())-1, 12); ok {
		mo = strings.TrimSpace(m)
	}
	zone, _ := t.Zone()
	return Text(locale, id, wd, strconv.Itoa(t.Day()), mo, strconv.Itoa(t.Year()), t.Format(Text(locale, "format.clock")), zone)
}

// nthField is the field i of the comma-separated list s when s has exactly n fields: what
// strings.Split(s, ",")[i] is when len(strings.Split(s, ",")) == n, without the slice.
func nthField(s string, i, n int) (string, bool) {
	if strings.Count(s, ",") != n-1 || i < 0 || i >= n {
		return "", false
	}
	for range i {
		s = s[strings.IndexByte(s, ',')+1:]
	}
	if j := strings.IndexByte(s, ','); j >= 0 {
		s = s[:j]
	}
	return s, true
}

// VoiceLocale is the locale a text-to-speech voice reads the language in ("de-DE").
func VoiceLocale(lang string) string { return Text(lang, "voice.locale") }

// QuestionText shows a security question in the locale's language: a predefined question (its
// English text is its stable id, kept in the enrollment) through the catalog, a bot admin's
// own question as written.
func QuestionText(locale, q string) string {
	c := catalogs.Load()
	id := MsgID("question." + q)
	if _, ok := c.msgs["en"][id]; !ok {
		return q
	}
	return c.text(locale, id)
}
