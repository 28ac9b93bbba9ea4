package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resetbot/resetbot/flows"
)

// Timeout bounds every Redis call so Redis can never eat a chat platform's ack budget.
const Timeout = 500 * time.Millisecond

// Options say how to reach Redis.
type Options struct {
	URL        string   // redis:// or rediss:// or unix:// for one node
	Addrs      []string // Sentinel or Cluster seed addresses
	MasterName string   // Sentinel master name
	Cluster    bool
	Password   string
}

// Connect builds a UniversalClient: one node from a URL, Sentinel with MasterName, Cluster
// with Cluster or several Addrs. Every timeout is at most 500 ms. Every kind dials through
// dialer (dial.go), which spares the pool go-redis's socket peek before each command while a
// connection's health is known.
func Connect(o Options) (redis.UniversalClient, error) {
	if o.URL != "" {
		opt, err := redis.ParseURL(o.URL)
		if err != nil {
			return nil, fmt.Errorf("store: redis url: %w", err)
		}
		if o.Password != "" {
			opt.Password = o.Password
		}
		opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = Timeout, Timeout, Timeout, Timeout
		opt.DisableIdentity = true
		opt.Dialer = dialer(Timeout, opt.TLSConfig)
		return redis.NewClient(opt), nil
	}
	if len(o.Addrs) == 0 {
		return nil, errors.New("store: no redis address")
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: o.Addrs, MasterName: o.MasterName, IsClusterMode: o.Cluster, Password: o.Password,
		DialTimeout: Timeout, ReadTimeout: Timeout, WriteTimeout: Timeout, PoolTimeout: Timeout,
		DisableIdentity: true, Dialer: dialer(Timeout, nil),
	}), nil
}

var (
	stepScript      = script("step.lua", "lib_window.lua")
	consumeScript   = script("consume.lua")
	countSendScript = script("count_send.lua", "lib_window.lua")
	judgeScript     = script("judge.lua", "lib_window.lua")
	keepNewPwScript = script("keep_newpw.lua")
)

// Store implements the flows ports on Redis.
type Store struct {
	rdb         redis.UniversalClient
	c           *Crypto
	waitN       int // replicas that must acknowledge a security-relevant write (Durable)
	waitTimeout time.Duration
	pipes       sync.Pool // redis.Pipeliner of rdb, empty, for load
}

var (
	_ flows.Sessions       = (*Store)(nil)
	_ flows.Menus          = (*Store)(nil)
	_ flows.NewPasswords   = (*Store)(nil)
	_ flows.Links          = (*Store)(nil)
	_ flows.Enrollments    = (*Store)(nil)
	_ flows.WebStates      = (*Store)(nil)
	_ flows.PolicyStore    = (*Store)(nil)
	_ flows.PendingChanges = (*Store)(nil)
	_ flows.MACer          = (*Crypto)(nil)
)

// New wraps a client; c seals secrets before they reach Redis.
func New(rdb redis.UniversalClient, c *Crypto) *Store { return &Store{rdb: rdb, c: c} }

// Preload loads the scripts so the first step does not pay a NOSCRIPT round trip. (After a
// Redis restart the scripts are reloaded on demand.)
func (s *Store) Preload(ctx context.Context) error {
	for _, sc := range []*redis.Script{stepScript, consumeScript, peekScript, keepNewPwScript, countSendScript, budgetScript, registerScript, pinScript} {
		if err := sc.Load(ctx, s.rdb).Err(); err != nil {
			return fmt.Errorf("store: load script: %w", err)
		}
	}
	return nil
}

// Client returns the underlying client (for health checks).
func (s *Store) Client() redis.UniversalClient { return s.rdb }

func tag(subject string) string { return "{u:" + subject + "}" }

// the keys of one subject, each built in one concatenation: "{u:" + subject + "}" + the rest
func sessKey(subject, chat string) string  { return "{u:" + subject + "}:s:" + chat }
func codeKey(subject, chat string) string  { return "{u:" + subject + "}:code:" + chat }
func enrolKey(subject string) string       { return "{u:" + subject + "}:e" }
func linksKey(subject string) string       { return "{u:" + subject + "}:l" }
func idemKey(subject, k string) string     { return "{u:" + subject + "}:i:" + k }
func pinKey(chat string) string            { return "pin:" + chat }
func seenKey(delivery string) string       { return "seen:" + delivery }
func menuKey(subject, chat string) string  { return "{u:" + subject + "}:menu:" + chat }
func localeKey(subject string) string      { return "{u:" + subject + "}:locale" }
func newPwKey(subject string) string       { return "{u:" + subject + "}:newpw" }
func newPwChecksKey(subject string) string { return "{u:" + subject + "}:newpw:n" }

// stepKeys are step.lua's keys: idemKey and sessKey of the subject, then only those the plan's
// parts use, in this order: enrolKey (an attempt or a send), codeKey (an attempt, a code, or the
// session deleted), linksKey (a link), menuKey (the menu forgotten), localeKey (a locale). They
// are built as those build them but into one string (one allocation for all).
func stepKeys(subject, chat, idem string, parts int64) []string {
	var keys [7]string
	return keys[:stepKeysInto(&keys, subject, chat, idem, parts)]
}

// stepKeysInto builds stepKeys into keys and returns how many there are.
func stepKeysInto(keys *[7]string, subject, chat, idem string, parts int64) int {
	const u = "{u:"
	all := [7][4]string{{u, subject, "}:i:", idem}, {u, subject, "}:s:", chat}, {u, subject, "}:e"},
		{u, subject, "}:code:", chat}, {u, subject, "}:l"}, {u, subject, "}:menu:", chat}, {u, subject, "}:locale"}}
	uses := [7]bool{true, true, parts&(partAttempt|partSend) != 0,
		parts&(partAttempt|partCode) != 0 || parts&(partKeep|partSave) == 0,
		parts&partLink != 0, parts&partForgetMenu != 0, parts&partLocale != 0}
	var used [7][4]string
	m := 0
	for i, x := range all {
		if uses[i] {
			used[m] = x
			m++
		}
	}
	joinKeys(keys[:m], used[:m])
	return m
}

// joinKeys sets keys[i] to the pieces of parts[i] joined (at most eight parts): the keys of a
// pipeline or a script, built into one string (one allocation) of which each is a slice.
func joinKeys(keys []string, parts [][4]string) {
	n := 0
	for _, k := range parts {
		n += len(k[0]) + len(k[1]) + len(k[2]) + len(k[3])
	}
	var b strings.Builder
	b.Grow(n)
	var ends [8]int
	for i, k := range parts {
		for _, x := range k {
			b.WriteString(x)
		}
		ends[i] = b.Len()
	}
	all, start := b.String(), 0
	for i, end := range ends[:len(parts)] {
		keys[i], start = all[start:end], end
	}
}

// Load reads the session, enrollment and pending code of one chat identity in one pipeline.
func (s *Store) Load(ctx context.Context, subject, chat string) (flows.Snapshot, error) {
	return s.load(ctx, subject, chat, "")
}

// LoadDelivered implements flows.Sessions: Load, and in the same pipeline the claim of a
// platform delivery (the key FirstSeen uses, so either one sees the other's claim).
func (s *Store) LoadDelivered(ctx context.Context, subject, chat, delivery string) (flows.Snapshot, error) {
	return s.load(ctx, subject, chat, delivery)
}

func (s *Store) load(ctx context.Context, subject, chat, delivery string) (flows.Snapshot, error) {
	r := newLoadRead(ctx, subject, chat, delivery)
	// the pipeline object is reused (Exec leaves it empty): each one costs four allocations
	p, _ := s.pipes.Get().(redis.Pipeliner)
	if p == nil {
		p = s.rdb.Pipeline()
	}
	cmds := r.cmds[:]
	if delivery == "" {
		cmds = cmds[1:]
	}
	_ = p.BatchProcess(ctx, cmds...)
	_, err := p.Exec(ctx)
	s.pipes.Put(p)
	if err != nil && !errors.Is(err, redis.Nil) {
		return flows.Snapshot{}, fmt.Errorf("store: load: %w", err)
	}
	var snap flows.Snapshot
	if delivery != "" && !r.first.Val() {
		return flows.Snapshot{Repeated: true}, nil
	}
	// HMGET's absent fields read as "": the version and the session are never empty when set
	if v := r.sess.Val(); len(v) == 2 && v[0] != "" && v[1] != "" {
		snap.Session = sessionOf(v[0], v[1])
	}
	if snap.Enrollment, err = s.decodeEnrollment(subject, r.en.Val()); err != nil {
		return flows.Snapshot{}, err
	}
	vals := r.small.Val()
	str := func(i int) string {
		if i < len(vals) {
			return vals[i]
		}
		return ""
	}
	if v := str(0); v != "" {
		snap.Code = decodeCode(v)
	}
	snap.Pinned = r.pin.Val()
	if v := str(1); v != "" {
		// a menu we cannot read is no menu: typed numbers fall back to the conversation's own
		// (read into a variable of its own: snap stays on the stack)
		var menu []flows.Choice
		_ = json.Unmarshal([]byte(v), &menu)
		snap.Menu = menu
	}
	snap.NewPassword = str(2)
	return snap, nil
}

// loadRead is load's pipeline, the commands go-redis's SetNX, HMGet, HGetAll, MGet and Get
// build, with their keys and arguments in one allocation: the keys are slices of one string
// and go as pointers (go-redis writes a *string as its string, and routes a Cluster command
// by it), so no argument is boxed on its own; the commands are values of it, copied from what
// go-redis's constructors make (on the stack, as they are inlined).
type loadRead struct {
	keys  [7]string // seen, session, enrollment, code, menu, new password, pin
	argv  [18]any
	cmds  [5]redis.Cmder
	first redis.BoolCmd
	sess  redis.StringSliceCmd
	en    redis.MapStringStringCmd
	small redis.StringSliceCmd
	pin   redis.StringCmd
}

// deliveryTTL is SET's EX argument for flows.DeliveryTTL, boxed once.
var deliveryTTL any = int64(flows.DeliveryTTL / time.Second)

func newLoadRead(ctx context.Context, subject, chat, delivery string) *loadRead {
	r := new(loadRead)
	// seenKey, sessKey, enrolKey, codeKey, menuKey, newPwKey and pinKey, built as those build
	// them
	const u = "{u:"
	joinKeys(r.keys[:], [][4]string{{"seen:", delivery}, {u, subject, "}:s:", chat}, {u, subject, "}:e"},
		{u, subject, "}:code:", chat}, {u, subject, "}:menu:", chat}, {u, subject, "}:newpw"}, {"pin:", chat}})
	k, a := &r.keys, &r.argv
	// as SetNX(seen, "1", flows.DeliveryTTL): SET seen 1 EX 3600 NX
	a[0], a[1], a[2], a[3], a[4], a[5] = "set", &k[0], "1", "ex", deliveryTTL, "nx"
	a[6], a[7], a[8], a[9] = "hmget", &k[1], "v", "data"
	a[10], a[11] = "hgetall", &k[2]
	a[12], a[13], a[14], a[15] = "mget", &k[3], &k[4], &k[5]
	a[16], a[17] = "get", &k[6]
	if delivery != "" {
		r.first = *redis.NewBoolCmd(ctx, a[0:6]...)
		r.cmds[0] = &r.first
	}
	r.sess = *redis.NewStringSliceCmd(ctx, a[6:10]...)
	r.en = *redis.NewMapStringStringCmd(ctx, a[10:12]...)
	r.small = *redis.NewStringSliceCmd(ctx, a[12:16]...)
	r.pin = *redis.NewStringCmd(ctx, a[16:18]...)
	r.cmds[1], r.cmds[2], r.cmds[3], r.cmds[4] = &r.sess, &r.en, &r.small, &r.pin
	return r
}

// KeepMenu implements flows.Menus: the chat's live menu, for ttl; an empty menu forgets it.
func (s *Store) KeepMenu(ctx context.Context, subject, chat string, menu []flows.Choice, ttl time.Duration) error {
	k := menuKey(subject, chat)
	if len(menu) == 0 {
		if err := s.rdb.Del(ctx, k).Err(); err != nil {
			return fmt.Errorf("store: forget menu: %w", err)
		}
		return nil
	}
	b, err := json.Marshal(menu)
	if err != nil {
		return err
	}
	if err := s.rdb.Set(ctx, k, b, ttl).Err(); err != nil {
		return fmt.Errorf("store: keep menu: %w", err)
	}
	return nil
}

// KeepNewPassword implements flows.NewPasswords: the keyed hash (never the password) of the
// password a page just set, for ttl.
func (s *Store) KeepNewPassword(ctx context.Context, userID, rec string, ttl time.Duration) error {
	// one script rather than MULTI, SET, DEL, EXEC: a new password gets its own count of checks
	err := run(ctx, s.rdb, keepNewPwScript, []string{newPwKey(userID), newPwChecksKey(userID)}, []any{rec, ttl.Milliseconds()}).Err()
	if err != nil {
		return fmt.Errorf("store: keep new password hash: %w", err)
	}
	return nil
}

// SpendPasswordChecks implements flows.NewPasswords: n more comparisons counted against the
// kept hash, the total returned. The count outlives the hash it counts for.
func (s *Store) SpendPasswordChecks(ctx context.Context, userID string, n int) (int64, error) {
	var used *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		used = p.IncrBy(ctx, newPwChecksKey(userID), int64(n))
		p.PExpire(ctx, newPwChecksKey(userID), flows.TypedPasswordLifetime+2*time.Minute)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: count password checks: %w", err)
	}
	return used.Val(), nil
}

// sessionOf is the session stored as data at version ver; nil when data cannot be read.
func sessionOf(ver, data string) *flows.Session {
	var sess flows.Session
	if err := unmarshalSession(data, &sess); err != nil {
		// A record we cannot read is treated as no session: the user starts over.
		return nil
	}
	v, _ := strconv.ParseInt(ver, 10, 64)
	sess.Version = v
	return &sess
}

func decodeCode(v string) flows.StoredCode {
	mac, exp, ok := strings.Cut(v, "|")
	if !ok {
		return flows.StoredCode{}
	}
	ms, _ := strconv.ParseInt(exp, 10, 64)
	return flows.StoredCode{MAC: mac, ExpiresAt: time.UnixMilli(ms)}
}

func decodeWindow(v string) flows.Window {
	c, st, ok := strings.Cut(v, ":")
	if !ok {
		return flows.Window{}
	}
	n, _ := strconv.Atoi(c)
	ms, _ := strconv.ParseInt(st, 10, 64)
	return flows.Window{Count: n, Start: time.UnixMilli(ms)}
}

func (s *Store) decodeEnrollment(uid string, h map[string]string) (flows.Enrollment, error) {
	methods, longest, sealed := 0, 0, 0
	for k, v := range h {
		if strings.HasPrefix(k, "m:") {
			methods, longest, sealed = methods+1, max(longest, len(k)), max(sealed, len(v))
		}
	}
	// Tries is made when there is a count (flows makes it when it counts the first)
	e := flows.Enrollment{Methods: make(map[flows.MethodKind]flows.Registered, methods)}
	// aad is "uid|field", the sealed record's additional data, and buf what a record is opened
	// into (unmarshalRegistered keeps nothing of it): one allocation for both and every method
	var aad, buf []byte
	if methods > 0 {
		n := len(uid) + 1 + longest
		both := make([]byte, n+base64.RawStdEncoding.DecodedLen(sealed))
		aad = append(append(both[:0:n], uid...), '|')
		buf = both[n:n]
	}
	pre := len(aad)
	for k, v := range h {
		switch {
		case strings.HasPrefix(k, "m:"):
			aad = append(aad[:pre], k...)
			plain, err := s.c.open(buf, aad, v)
			if err != nil {
				return e, fmt.Errorf("store: enrollment %s: %w", k, err)
			}
			var r flows.Registered // on the stack: the map keeps a copy
			if err := unmarshalRegistered(plain, &r); err != nil {
				return e, fmt.Errorf("store: enrollment %s: %w", k, err)
			}
			r.Stored = v
			e.Methods[r.Kind] = r
		case k == "c:fail":
			e.Fails = decodeWindow(v)
		case k == "c:sent":
			e.Sent = decodeWindow(v)
		case strings.HasPrefix(k, "c:try:"):
			if e.Tries == nil {
				e.Tries = map[flows.MethodKind]flows.Window{}
			}
			e.Tries[flows.MethodKind(strings.TrimPrefix(k, "c:try:"))] = decodeWindow(v)
		case k == "block":
			ms, _ := strconv.ParseInt(v, 10, 64)
			if ms > 0 {
				e.BlockedUntil = time.UnixMilli(ms)
			}
		case k == "totp_step":
			e.LastTOTPStep, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return e, nil
}

// stepPlan is step.lua's plan (see its header): the parts the step has, each a bit of parts, and
// their values. The values go to go-redis as pointers to its fields and argv lists them, so one
// allocation holds the whole plan and nothing is encoded for the script to decode.
type stepPlan struct {
	now, expect, parts int64
	saveTTL            int64     // ms
	data               rawArg    // the session's JSON
	forget             int64     // ms after which the counters go (subjects with no directory user)
	menuWas            string    // the notice menu as KeepMenu wrote it, "" whichever
	lang, tz           string    // kept as the person's language and time zone (PersonLocale)
	method, codeMAC    string    // the attempt
	step               int64     // the TOTP step that matched, 0 none
	failMax, failWin   int64     // ms
	triesMax, triesWin int64     // ms
	blockMS            int64     // ms
	put                [3]string // field, its new sealed record, the record it replaces ("" none)
	keys               [7]string // stepKeys
	sendMax, sendWin   int64
	code               string // "mac|expiry ms"
	codeTTL            int64
	linkPurpose, link  string
	linkTTL            int64
	argv               [27]any
	eval               [3 + 7 + 27]any // EVALSHA's arguments: evalShaArgs of keys and argv
	cmd                redis.StringCmd // the EVALSHA (runStep)
}

// step.lua's parts, in the order their values follow its first three arguments
const (
	partIdem       = 1 << iota // the message is marked handled
	partKeep                   // the session is left as it is
	partSave                   // the session is saved (without keep or save it is deleted)
	partForget                 // the counters are forgotten after forget ms
	partForgetMenu             // the notice menu is forgotten while it is still menuWas
	partLocale                 // the person's language and time zone are kept
	partAttempt                // an attempt is counted and judged
	partCorrect                // the attempt's comparison said it matches
	partOnce                   // the attempt spends the pending challenge whatever its outcome
	partPut                    // the method's new record, written only when the attempt is accepted
	partSend                   // a code sent is counted against the send limit
	partCode                   // a pending code is kept
	partLink                   // a link is granted
	partLinkIfFree             // only while no link of its purpose is held
)

// args are step.lua's arguments: now, the version read, the parts, then the values of each part
// the plan has, in the order of the parts' bits.
func (p *stepPlan) args() []any {
	a := append(p.argv[:0], &p.now, &p.expect, &p.parts)
	has := func(part int64) bool { return p.parts&part != 0 }
	if has(partSave) {
		a = append(a, &p.saveTTL, &p.data)
	}
	if has(partForget) {
		a = append(a, &p.forget)
	}
	if has(partForgetMenu) {
		a = append(a, &p.menuWas)
	}
	if has(partLocale) {
		a = append(a, &p.lang, &p.tz)
	}
	if has(partAttempt) {
		a = append(a, &p.method, &p.codeMAC, &p.step, &p.failMax, &p.failWin, &p.triesMax, &p.triesWin, &p.blockMS)
	}
	if has(partPut) {
		a = append(a, &p.put[0], &p.put[1], &p.put[2])
	}
	if has(partSend) {
		a = append(a, &p.sendMax, &p.sendWin)
	}
	if has(partCode) {
		a = append(a, &p.code, &p.codeTTL)
	}
	if has(partLink) {
		a = append(a, &p.linkPurpose, &p.link, &p.linkTTL)
	}
	return a
}

// rawArg is a []byte that go-redis writes as it is when given a pointer to it (as
// encoding.BinaryMarshaler): unlike the slice itself, the pointer is not copied into a new
// allocation to make it an argument.
type rawArg []byte

// MarshalBinary implements encoding.BinaryMarshaler.
func (r *rawArg) MarshalBinary() ([]byte, error) { return *r, nil }

// cleanupGrace keeps records a little past their logical expiry; expiry itself is checked
// against the injected clock, Redis TTL only cleans up.
const cleanupGrace = time.Minute

func ttlMS(until, now time.Time) int64 {
	d := until.Sub(now) + cleanupGrace
	if d < time.Second {
		d = time.Second
	}
	return d.Milliseconds()
}

// forgetAfter is how long the counters of a subject with no directory user are kept: longer
// than any counting window or block, so forgetting them never reopens guesses early.
const forgetAfter = 48 * time.Hour

// Commit applies one step with the atomic step script.
func (s *Store) Commit(ctx context.Context, c flows.Commit) (flows.Outcome, error) {
	now := c.Now
	p := &stepPlan{now: now.UnixMilli(), expect: c.ExpectVersion}
	if c.IdemKey != "" {
		p.parts |= partIdem
	}
	if c.KeepSession {
		p.parts |= partKeep
	} else if c.Session != nil {
		// the session's JSON goes as an argument of its own, as it is stored
		b, err := marshalSession(c.Session)
		if err != nil {
			return flows.Outcome{}, err
		}
		p.parts |= partSave
		p.saveTTL, p.data = ttlMS(c.Session.ExpiresAt, now), b
	}
	if strings.HasPrefix(c.Subject, "c:") {
		p.parts |= partForget
		p.forget = forgetAfter.Milliseconds()
	}
	if c.ForgetMenu {
		p.parts |= partForgetMenu
		if len(c.MenuWas) > 0 {
			// the same encoding as KeepMenu's, so the script compares it with what is stored
			b, err := json.Marshal(c.MenuWas)
			if err != nil {
				return flows.Outcome{}, err
			}
			p.menuWas = string(b)
		}
	}
	if l := c.Locale; l != nil {
		p.parts |= partLocale
		p.lang, p.tz = l.Lang, l.TimeZone
	}
	if a := c.Attempt; a != nil {
		p.parts |= partAttempt
		p.method, p.codeMAC, p.step = string(a.Method), a.CodeMAC, a.TOTPStep
		p.failMax, p.failWin = int64(a.Limits.FailMax), a.Limits.FailWindow.Milliseconds()
		p.triesMax, p.triesWin = int64(a.Limits.TriesMax), a.Limits.TriesWindow.Milliseconds()
		p.blockMS = a.Limits.BlockFor.Milliseconds()
		if a.Correct {
			p.parts |= partCorrect
		}
		if a.Once {
			p.parts |= partOnce
		}
		if a.Update != nil {
			field, sealed, err := s.sealMethod(c.Subject, *a.Update)
			if err != nil {
				return flows.Outcome{}, err
			}
			p.parts |= partPut
			p.put = [3]string{field, sealed, a.Update.Stored}
		}
	}
	if l := c.CountSend; l != nil {
		p.parts |= partSend
		p.sendMax, p.sendWin = int64(l.SendMax), l.SendWindow.Milliseconds()
	}
	if pc := c.PutCode; pc != nil {
		p.parts |= partCode
		p.code, p.codeTTL = pc.MAC+"|"+strconv.FormatInt(pc.ExpiresAt.UnixMilli(), 10), ttlMS(pc.ExpiresAt, now)
	}
	if l := c.Link; l != nil {
		if c.Session == nil {
			return flows.Outcome{}, errors.New("store: a link needs a session")
		}
		p.parts |= partLink
		if l.IfFree {
			p.parts |= partLinkIfFree
		}
		p.linkPurpose, p.linkTTL = string(l.Purpose), ttlMS(l.ExpiresAt, now)
		p.link = strings.Join([]string{l.MAC, c.ChatKey, c.Session.ID, strconv.FormatInt(c.Session.Version, 10),
			strconv.FormatInt(l.ExpiresAt.UnixMilli(), 10)}, "|")
	}
	idem := c.IdemKey
	if idem == "" {
		idem = "-"
	}
	keys := p.keys[:stepKeysInto(&p.keys, c.Subject, c.ChatKey, idem, p.parts)]
	res, err := s.runStep(ctx, p, keys)
	if err != nil {
		// the script marks the message handled first and Redis does not undo a script that
		// fails later (a command refused, a key of the wrong type): the mark goes again so the
		// platform's retry is handled. Only on Redis's own error reply: after a lost connection
		// the script may have run to its end.
		var reply redis.Error
		if c.IdemKey != "" && errors.As(err, &reply) {
			if derr := s.rdb.Del(context.WithoutCancel(ctx), keys[0]).Err(); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		return flows.Outcome{}, fmt.Errorf("store: commit: %w", err)
	}
	status, out, ok := parseStepReply(res)
	if !ok {
		return flows.Outcome{}, fmt.Errorf("store: commit: unexpected reply %q", res)
	}
	switch status {
	case "ok":
		out.Status = flows.Committed
	case "dup":
		out.Status = flows.Duplicate
	case "stale":
		out.Status = flows.Stale
	case "blocked":
		out.Status = flows.Blocked
	case "rejected":
		out.Status = flows.Rejected
	case "limit":
		out.Status = flows.LimitReached
	default:
		return out, fmt.Errorf("store: commit: unexpected status %q", status)
	}
	return out, nil
}

// runStep runs step.lua with the plan p and keys, as runScript runs it, and returns its answer
// (one string, see parseStepReply). Unless writes must be replicated (WAIT), its arguments are
// the plan's own (evalShaArgs into its eval) and the answer is read as a string, not a value.
func (s *Store) runStep(ctx context.Context, p *stepPlan, keys []string) (string, error) {
	args := p.args()
	if s.waitN != 0 {
		return s.runScript(ctx, stepScript, keys, args...).Text()
	}
	p.cmd = *redis.NewStringCmd(ctx, evalShaArgs(p.eval[:0], stepScript, keys, args)...)
	cmd := &p.cmd
	cmd.SetFirstKeyPos(3)
	_ = s.rdb.Process(ctx, cmd)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return stepScript.Eval(ctx, s.rdb, keys, args...).Text()
	}
	return cmd.Result()
}

// parseStepReply reads step.lua's answer, 'outcome version' and for some outcomes numbers after
// it, each after a space: the block's end (ms), then the failures and the tries.
func parseStepReply(res string) (string, flows.Outcome, bool) {
	var out flows.Outcome
	var nums [4]int64 // the version, the block's end, the failures, the tries
	status, rest, more := strings.Cut(res, " ")
	n := 0
	for ; more && n < len(nums); n++ {
		var f string
		f, rest, more = strings.Cut(rest, " ")
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return "", out, false
		}
		nums[n] = v
	}
	if status == "" || more || n == 0 || n == 3 {
		return "", out, false
	}
	out.Version = nums[0]
	if nums[1] > 0 {
		out.BlockedUntil = time.UnixMilli(nums[1])
	}
	out.Fails, out.Tries = int(nums[2]), int(nums[3])
	return status, out, true
}

// CheckDurable pings Redis and, unless allowNoAOF, requires its append-only log on every node
// that takes writes: enrollments must survive a restart.
func CheckDurable(ctx context.Context, rdb redis.UniversalClient, allowNoAOF bool) error {
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("not reachable: %w", err)
	}
	if allowNoAOF {
		return nil
	}
	check := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "persistence").Result()
		if err != nil {
			return fmt.Errorf("INFO persistence: %w", err)
		}
		if !strings.Contains(info, "aof_enabled:1") {
			return fmt.Errorf("%s has the append-only file off: enrollments would be lost in a restart; set appendonly yes (or REDIS_ALLOW_NO_AOF=true to accept that)", c.Options().Addr)
		}
		return nil
	}
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, check)
	case *redis.Client:
		return check(ctx, c)
	}
	return nil
}
