package flows

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

type reqKey struct{}

// WithRequestID names the request a step belongs to; every log line of the step carries it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, reqKey{}, id)
}

// RequestID is the step's request id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(reqKey{}).(string)
	return id
}

// ensureRequestID gives a step without a request id a fresh one.
func ensureRequestID(ctx context.Context) context.Context {
	if RequestID(ctx) != "" {
		return ctx
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return WithRequestID(ctx, hex.EncodeToString(b))
}
