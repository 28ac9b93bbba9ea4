package flows

import (
	"context"
	"testing"

	"github.com/resetbot/resetbot/internal/allocs"
)

type otherKey struct{}

// The step's values under one key read as three separate context values would: the nearest
// setting of each wins, and setting one keeps the others.
func TestStepValuesNest(t *testing.T) {
	base := context.WithValue(context.Background(), otherKey{}, "x")
	if UserWaiting(base) || RequestID(base) != "" || LangFrom(base) != "" {
		t.Fatal("values on a context that has none")
	}
	de := WithLang(base, "de")
	idd := WithRequestID(de, "r1")
	w := WithUserWaiting(idd)
	if !UserWaiting(w) || RequestID(w) != "r1" || LangFrom(w) != "de" || w.Value(otherKey{}) != "x" {
		t.Fatalf("waiting %v id %q lang %q", UserWaiting(w), RequestID(w), LangFrom(w))
	}
	if UserWaiting(idd) || RequestID(de) != "" {
		t.Fatal("a value leaked to the context it was set on top of")
	}
	if WithUserWaiting(w) != w || WithLang(w, "") != w {
		t.Fatal("setting what is already set made a new context")
	}
	fr := WithLang(w, "fr")
	if LangFrom(fr) != "fr" || LangFrom(w) != "de" || RequestID(fr) != "r1" || !UserWaiting(fr) {
		t.Fatalf("lang %q over %q", LangFrom(fr), LangFrom(w))
	}
	if LangFrom(WithLang(base, "de-AT")) != Lang("de-AT") {
		t.Fatalf("WithLang keeps the catalog language: %q", LangFrom(WithLang(base, "de-AT")))
	}
	// a step keeps the request id it was given and gets a fresh one otherwise
	s := beginStep(WithRequestID(base, "given"), "de")
	if RequestID(s) != "given" || !UserWaiting(s) || LangFrom(s) != "de" {
		t.Fatalf("step: id %q waiting %v lang %q", RequestID(s), UserWaiting(s), LangFrom(s))
	}
	a, b := RequestID(beginStep(base, "")), RequestID(beginStep(base, ""))
	if len(a) != 16 || a == b || LangFrom(beginStep(de, "")) != "de" {
		t.Fatalf("fresh ids %q %q", a, b)
	}
}

// A detached context keeps the values and is not cancelled with its parent; a lookup on it
// costs no allocation, where one on a bare WithoutCancel context costs one.
func TestDetachKeepsValuesWithoutCancel(t *testing.T) {
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), otherKey{}, "x"))
	ctx := beginStep(parent, "de")
	d := detach(ctx)
	cancel()
	if d.Err() != nil || d.Done() != nil {
		t.Fatal("detached context cancelled")
	}
	if RequestID(d) != RequestID(ctx) || LangFrom(d) != "de" || !UserWaiting(d) || d.Value(otherKey{}) != "x" {
		t.Fatal("detached context lost a value")
	}
	if n := allocs.Min(100, func() { _ = d.Value(otherKey{}); _ = UserWaiting(d) }); n != 0 {
		t.Fatalf("%v allocations per lookup on a detached context", n)
	}
	bare := context.WithoutCancel(ctx)
	if n := allocs.Min(100, func() { _ = bare.Value(otherKey{}) }); n < 1 {
		t.Fatalf("a lookup on a WithoutCancel context costs %v allocations: detach may no longer be needed", n)
	}
	// three: the values, their context and the request id (the race detector adds the random
	// bytes); WithUserWaiting, ensureRequestID and WithLang cost six
	if n := allocs.Min(100, func() { _ = beginStep(parent, "de") }); n > 4 {
		t.Fatalf("a step's values cost %v allocations, want at most 4", n)
	}
}
