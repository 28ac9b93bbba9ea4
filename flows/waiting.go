package flows

import "context"

type waitingKey struct{}

// WithUserWaiting marks ctx as serving a person who is waiting for the answer, so directory
// calls made under it ask for priority (Graph's x-ms-throttle-priority: high).
func WithUserWaiting(ctx context.Context) context.Context {
	return context.WithValue(ctx, waitingKey{}, true)
}

// UserWaiting reports whether a person waits on ctx.
func UserWaiting(ctx context.Context) bool {
	v, _ := ctx.Value(waitingKey{}).(bool)
	return v
}
