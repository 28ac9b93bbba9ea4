package flows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// stepVals are the values a context carries for the person served: whether they wait for the
// answer (WithUserWaiting), the request id of the step (WithRequestID) and their language
// (WithLang). They travel together under one key, so a step sets all three with one value
// (two allocations instead of seven) and reading one walks the chain once. A stepVals is never
// changed once it is in a context: each With* function puts a changed copy.
type stepVals struct {
	waiting bool
	reqID   string
	lang    string
}

type stepKey struct{}

// valsOf is what ctx carries, nil when nothing.
func valsOf(ctx context.Context) *stepVals {
	v, _ := ctx.Value(stepKey{}).(*stepVals)
	return v
}

// withVals puts v (a new copy) on ctx.
func withVals(ctx context.Context, v *stepVals) context.Context {
	return context.WithValue(ctx, stepKey{}, v)
}

// waitingOnly is what WithUserWaiting puts on a context that carried nothing: shared, never
// changed.
var waitingOnly = &stepVals{waiting: true}

// WithUserWaiting marks ctx as serving a person who is waiting for the answer, so directory
// calls made under it ask for priority (Graph's x-ms-throttle-priority: high).
func WithUserWaiting(ctx context.Context) context.Context {
	old := valsOf(ctx)
	switch {
	case old == nil:
		return withVals(ctx, waitingOnly)
	case old.waiting:
		return ctx
	}
	v := *old
	v.waiting = true
	return withVals(ctx, &v)
}

// UserWaiting reports whether a person waits on ctx.
func UserWaiting(ctx context.Context) bool {
	v := valsOf(ctx)
	return v != nil && v.waiting
}

// WithRequestID names the request a step belongs to; every log line of the step carries it.
func WithRequestID(ctx context.Context, id string) context.Context {
	var v stepVals
	if old := valsOf(ctx); old != nil {
		v = *old
	}
	v.reqID = id
	return withVals(ctx, &v)
}

// RequestID is the step's request id, or "".
func RequestID(ctx context.Context) string {
	if v := valsOf(ctx); v != nil {
		return v.reqID
	}
	return ""
}

// newRequestID is a fresh request id: 8 random bytes in hex.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	var h [16]byte
	hex.Encode(h[:], b[:])
	return string(h[:])
}

// beginStep is ctx serving a person who waits for the answer, with a request id (a fresh one
// unless ctx has one) and, when locale is not "", their language: WithUserWaiting,
// WithRequestID and WithLang in one value.
func beginStep(ctx context.Context, locale string) context.Context {
	var v stepVals
	if old := valsOf(ctx); old != nil {
		v = *old
	}
	v.waiting = true
	if v.reqID == "" {
		v.reqID = newRequestID()
	}
	if locale != "" {
		v.lang = Lang(locale)
	}
	return withVals(ctx, &v)
}

// WithLang carries the language of the person being served, so what is sent on their behalf
// (a code by email, text or call) speaks it.
func WithLang(ctx context.Context, locale string) context.Context {
	if locale == "" {
		return ctx
	}
	var v stepVals
	if old := valsOf(ctx); old != nil {
		v = *old
	}
	v.lang = Lang(locale)
	return withVals(ctx, &v)
}

// LangFrom is the language WithLang carried, "" when none.
func LangFrom(ctx context.Context) string {
	if v := valsOf(ctx); v != nil {
		return v.lang
	}
	return ""
}

// detach is context.WithoutCancel(ctx) carrying ctx's values. The step's values are put on it
// again (the same, unchanged) when there are any: every lookup made directly on a
// WithoutCancel context costs an allocation (the context package boxes it to walk its
// parents), and a context on top of it spares each lookup under it that cost (Graph's and
// net/http's lookups of their own keys, the step's).
func detach(ctx context.Context) context.Context {
	d := context.WithoutCancel(ctx)
	if v := valsOf(ctx); v != nil {
		return withVals(d, v)
	}
	return d
}
