package slack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/resetbot/resetbot/flows"
)

// MaxSkew is how far a request's timestamp may be from now.
const MaxSkew = 5 * time.Minute

const maxBody = 1 << 20

// Verify checks Slack's request signature over the raw body and the timestamp's freshness
// against the adapter's clock. There is no switch to turn it off.
func Verify(h http.Header, body []byte, secret string, now time.Time) bool {
	return (&verifier{}).verify(h, body, secret, now)
}

// verifier is Verify with its MACs kept for the next request: hmac.New costs several
// allocations and two SHA-256 blocks, for every request. The zero value is ready.
type verifier struct{ macs sync.Pool } // of *keyedMAC

type keyedMAC struct {
	secret string
	mac    hash.Hash
	// what is written to and read from mac: here, not on the stack, where each would move to
	// the heap per request (mac is an interface: the compiler cannot tell it keeps neither)
	head [32]byte
	sum  [sha256.Size]byte
}

func (v *verifier) verify(h http.Header, body []byte, secret string, now time.Time) bool {
	ts := h.Get("X-Slack-Request-Timestamp")
	sig := h.Get("X-Slack-Signature")
	if ts == "" || sig == "" || secret == "" {
		return false
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return false
	}
	// "v0=" and the MAC in lower-case hex, as Sign writes it (and nothing else)
	var want [sha256.Size]byte
	if len(sig) != 3+2*sha256.Size || sig[:3] != "v0=" || !lowerHex(want[:], sig[3:]) {
		return false
	}
	k, _ := v.macs.Get().(*keyedMAC)
	if k == nil || k.secret != secret {
		k = &keyedMAC{secret: secret, mac: hmac.New(sha256.New, []byte(secret))}
	}
	ok := k.matches(ts, body, want[:])
	v.macs.Put(k)
	return ok
}

// matches reports whether want is the MAC of "v0:<ts>:<body>", in constant time.
func (k *keyedMAC) matches(ts string, body, want []byte) bool {
	mac := k.mac
	mac.Reset()
	mac.Write(append(append(append(k.head[:0], "v0:"...), ts...), ':'))
	mac.Write(body)
	return hmac.Equal(mac.Sum(k.sum[:0]), want)
}

// lowerHex decodes s, lower-case hex digits only, into dst (len(s) == 2*len(dst)).
func lowerHex(dst []byte, s string) bool {
	digit := func(c byte) (byte, bool) {
		switch {
		case '0' <= c && c <= '9':
			return c - '0', true
		case 'a' <= c && c <= 'f':
			return c - 'a' + 10, true
		}
		return 0, false
	}
	for i := range dst {
		hi, ok1 := digit(s[2*i])
		lo, ok2 := digit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

// Sign computes the headers Slack would send (the fake Slack and tests use it).
func Sign(secret string, body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", ts)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// HTTPHandler serves the Events API, interactivity and slash-command endpoints. Every request is
// verified on its raw body, acknowledged at once, and worked on afterwards.
func (a *Adapter) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /slack/events", a.verified(a.events))
	mux.HandleFunc("POST /slack/interactive", a.verified(a.interactive))
	mux.HandleFunc("POST /slack/commands", a.verified(a.commands))
	return mux
}

func (a *Adapter) verified(next func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(w, r)
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		// read to its end: closed now, net/http's server does not read it again for what the
		// handler left (an io.CopyN of the body, at the answer's headers, for every request)
		_ = r.Body.Close()
		if !a.verifier.verify(r.Header, body, a.cfg.SigningSecret, a.clock.Now()) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		next(w, r, body)
	}
}

// readBody reads a request's body, at most maxBody bytes, in one piece when its length is
// announced (io.ReadAll grows its buffer a few times for an interactivity payload). A body
// of an announced length within the bound needs no http.MaxBytesReader (an allocation per
// request): net/http's server gives no more than the length announced.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= maxBody {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
}

func (a *Adapter) events(w http.ResponseWriter, r *http.Request, body []byte) {
	env, err := decodeEvent(body)
	var typeErr *json.UnmarshalTypeError
	if err != nil && (!errors.As(err, &typeErr) || typeErr.Field == "type" || typeErr.Field == "challenge") {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if env.Type == slackevents.URLVerification {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(env.Challenge))
		return
	}
	w.WriteHeader(http.StatusOK)
	if err == nil { // a field of the wrong type: acknowledged and dropped, as slackevents.ParseEvent did
		a.dispatchDecoded(r.Context(), env)
	}
}

func (a *Adapter) interactive(w http.ResponseWriter, r *http.Request, body []byte) {
	payload, err := formValue(body, "payload")
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	cb, err := decodeInteraction(payload)
	if err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
	a.perUser(r.Context(), cb.Team.ID, cb.User.ID, cb.Channel.ID, func(ctx context.Context) { a.onInteraction(ctx, cb) })
}

func (a *Adapter) commands(w http.ResponseWriter, r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body)) // read already, for the signature
	c, err := slackapi.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad command", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": flows.Text(a.cachedLocale(c.UserID), flows.MsgWorking)})
	a.perUser(r.Context(), c.TeamID, c.UserID, "", func(ctx context.Context) { a.onCommand(ctx, c) })
}

// formValue is url.ParseQuery(string(body)).Get(name) with ParseQuery's error, without the
// map and the strings of the other fields: the interactivity form is one field, the payload,
// whose JSON is most of the request. The value is a new slice.
func formValue(body []byte, name string) ([]byte, error) {
	if bytes.Count(body, []byte("&"))+1 > maxFormFields {
		return nil, errors.New("number of URL query parameters exceeded limit")
	}
	var value []byte
	found := false
	var err error
	for rest := body; len(rest) > 0; {
		pair := rest
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if bytes.IndexByte(pair, ';') >= 0 {
			if err == nil {
				err = errors.New("invalid semicolon separator in query")
			}
			continue
		}
		if len(pair) == 0 {
			continue
		}
		key, val, _ := bytes.Cut(pair, []byte("="))
		var k string
		if bytes.IndexByte(key, '%') < 0 && bytes.IndexByte(key, '+') < 0 {
			k = string(key) // as it is: only compared, not kept (no copy)
		} else {
			var kerr error
			if k, kerr = url.QueryUnescape(string(key)); kerr != nil {
				if err == nil {
					err = kerr
				}
				continue
			}
		}
		if found || k != name {
			if !validEscapes(val) && err == nil {
				_, err = url.QueryUnescape(string(val)) // its error
			}
			continue
		}
		v, verr := unescapeQuery(val)
		if verr != nil {
			if err == nil {
				_, err = url.QueryUnescape(string(val))
			}
			continue
		}
		value, found = v, true
	}
	return value, err
}

// maxFormFields is url.ParseQuery's limit on a form's fields (GODEBUG urlmaxqueryparams, by
// default 10,000).
const maxFormFields = 10000

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// validEscapes reports whether every % in s starts an escape url.QueryUnescape accepts.
func validEscapes(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

// unescapeQuery is url.QueryUnescape into a new slice.
func unescapeQuery(s []byte) ([]byte, error) {
	out := make([]byte, len(s))
	j := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return nil, errors.New("invalid escape")
			}
			out[j] = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		case '+':
			out[j] = ' '
		default:
			out[j] = c
		}
		j++
	}
	return out[:j], nil
}
