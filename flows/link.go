package flows

import (
	"context"
	"encoding/base64"
	"errors"
	"time"
)

// LinkTTL is the longest a one-time link lives; never past its session.
const LinkTTL = 10 * time.Minute

const tokenRandom = 32 // 256 bits

// grantLink makes a one-time link for sess and adds it to the commit; only its MAC is stored.
// The token carries the purpose and the user id in front of 256 random bits so the page can
// find the user's record in one slot; those are not secret, the random part is.
func (e *Engine) grantLink(s *step, sess *Session, p Purpose) (string, error) {
	tok, err := newToken(e.d.Rand, p, sess.UserID)
	if err != nil {
		return "", err
	}
	exp := s.now.Add(LinkTTL)
	if sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt
	}
	s.commit.Link = &LinkGrant{Purpose: p, MAC: linkMAC(e.d.MAC, tok), ExpiresAt: exp}
	return e.o.BaseURL + "/l/" + tok, nil
}

func linkMAC(m MACer, token string) string { return m.MAC("link", token) }

func newToken(r Random, p Purpose, userID string) (string, error) {
	if len(userID) > 255 {
		return "", ErrBadRequest
	}
	b := make([]byte, 0, 2+len(userID)+tokenRandom)
	b = append(b, purposeByte(p), byte(len(userID)))
	b = append(b, userID...)
	rnd := make([]byte, tokenRandom)
	if _, err := r.Read(rnd); err != nil {
		return "", err
	}
	b = append(b, rnd...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func purposeByte(p Purpose) byte {
	switch p {
	case PurposeReset:
		return 'R'
	case PurposeQuestions:
		return 'Q'
	case PurposeAdmin:
		return 'A'
	case PurposePasskey:
		return 'P'
	case PurposeChange:
		return 'C'
	}
	return 'G'
}

// parseToken returns the purpose and user id of a token, or ErrLinkGone when malformed.
func parseToken(tok string) (Purpose, string, error) {
	if len(tok) > 600 {
		return "", "", ErrLinkGone
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 2+tokenRandom {
		return "", "", ErrLinkGone
	}
	n := int(b[1])
	if len(b) != 2+n+tokenRandom || n == 0 {
		return "", "", ErrLinkGone
	}
	var p Purpose
	switch b[0] {
	case 'R':
		p = PurposeReset
	case 'G':
		p = PurposeRegister
	case 'Q':
		p = PurposeQuestions
	case 'A':
		p = PurposeAdmin
	case 'P':
		p = PurposePasskey
	case 'C':
		p = PurposeChange
	default:
		return "", "", ErrLinkGone
	}
	return p, string(b[2 : 2+n]), nil
}

// LinkView is what a page may show about a live link: nothing secret.
type LinkView struct {
	Purpose Purpose
	UserID  string
	Session *Session
	Record  LinkRecord
	mac     string // the MAC the link is stored under (an old key's during a MAC_KEY rotation)
}

// OpenLink checks a link without consuming it (GET): chat clients and scanners fetch links.
func (e *Engine) OpenLink(ctx context.Context, token string) (LinkView, error) {
	p, uid, err := parseToken(token)
	if err != nil {
		return LinkView{}, err
	}
	var (
		rec  LinkRecord
		sess *Session
		mac  string
	)
	err = ErrLinkGone
	// The current key's MAC first; an old key's only when that one finds nothing.
	for _, mac = range e.d.MAC.MACs("link", token) {
		if rec, sess, err = e.d.Links.Peek(ctx, uid, p, mac); !errors.Is(err, ErrLinkGone) {
			break
		}
	}
	if err != nil {
		return LinkView{}, ErrLinkGone
	}
	now := e.d.Clock.Now()
	if sess == nil || sess.Expired(now) || !now.Before(rec.ExpiresAt) || sess.Version != rec.SessionVersion || sess.ID != rec.SessionID {
		return LinkView{}, ErrLinkGone
	}
	return LinkView{Purpose: p, UserID: uid, Session: sess, Record: rec, mac: mac}, nil
}

// consumeLink checks and consumes a link (POST only), saving next in the same atomic step.
func (e *Engine) consumeLink(ctx context.Context, token string, want Purpose, next func(*Session) *Session) (LinkView, error) {
	v, err := e.OpenLink(ctx, token)
	if err != nil {
		return LinkView{}, ErrLinkGone
	}
	return e.consumeView(ctx, v, want, next)
}

// consumeView consumes the link v read earlier in the same request (OpenLink): the atomic
// script removes it only while it is still the value read and its session still has the bound
// version, so a link used, replaced or moved on since the read is gone; its lifetimes are
// checked again now.
func (e *Engine) consumeView(ctx context.Context, v LinkView, want Purpose, next func(*Session) *Session) (LinkView, error) {
	now := e.d.Clock.Now()
	if !e.liveView(v, want, now) {
		return LinkView{}, ErrLinkGone
	}
	var n *Session
	if next != nil {
		n = next(v.Session)
	}
	if err := e.d.Links.ConsumePeeked(ctx, v.Record, v.mac, n, now); err != nil {
		return LinkView{}, ErrLinkGone
	}
	return v, nil
}

// liveView reports whether the link v read earlier is of purpose want and still within its
// own and its session's lifetimes now.
func (e *Engine) liveView(v LinkView, want Purpose, now time.Time) bool {
	return v.Session != nil && v.Purpose == want && !v.Session.Expired(now) && now.Before(v.Record.ExpiresAt)
}

// keptPassword is the new password's record a reset link's consumption kept, to put back what
// it replaced if the directory does not take the password.
type keptPassword struct {
	links      KeepingLinks // nil: nothing was kept with the link; the password is kept once set
	record     string
	before     KeptBefore
	registered string // the email address registered as a method, read with the link
}

// registeredMail is the registered address read with the link, nil when it was not read.
func (k keptPassword) registeredMail() *string {
	if k.links == nil {
		return nil
	}
	return &k.registered
}

// consumeKeeping is consumeView of a reset link whose new password is pw: when the store can,
// the same atomic step keeps the password's record (keepNewPassword), so a reset writes once,
// and reads the address the reset's email notice also goes to.
func (e *Engine) consumeKeeping(ctx context.Context, v LinkView, userID, pw string) (LinkView, keptPassword, error) {
	k, ok := e.d.Links.(KeepingLinks)
	rec := e.newPasswordRecord(userID, pw)
	if !ok || rec == "" {
		v, err := e.consumeView(ctx, v, PurposeReset, nil)
		return v, keptPassword{}, err
	}
	now := e.d.Clock.Now()
	if !e.liveView(v, PurposeReset, now) {
		return LinkView{}, keptPassword{}, ErrLinkGone
	}
	c, err := k.ConsumeKeeping(ctx, v.Record, v.mac, nil, rec, keptPasswordTTL, now)
	if err != nil {
		return LinkView{}, keptPassword{}, ErrLinkGone
	}
	return v, keptPassword{links: k, record: rec, before: c.Before, registered: c.RegisteredMail}, nil
}

// kept is keepNewPassword once the directory set pw, unless the link's consumption kept it.
func (e *Engine) kept(ctx context.Context, k keptPassword, userID, pw string) {
	if k.links == nil {
		e.keepNewPassword(ctx, userID, pw)
	}
}

// unkeep puts back what the link's consumption replaced when the directory did not take the
// password: the record kept is then of no password of the person's.
// unkeepTimeout bounds putting back a refused password's record after its request ended.
const unkeepTimeout = 5 * time.Second

func (e *Engine) unkeep(ctx context.Context, k keptPassword, userID string) {
	if k.links == nil {
		return
	}
	// the request may have ended (the browser went away, which may be why the directory
	// call failed): the put-back is still made, with a bound of its own
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unkeepTimeout)
	defer cancel()
	if err := k.links.UnkeepNewPassword(ctx, userID, k.record, k.before); err != nil {
		e.d.Log.WarnContext(ctx, "a refused password's hash stays kept until it expires", "err", err, "user", userID)
	}
}
