package bot

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"
)

// secretKeys are attribute names whose values are never logged.
var secretKeys = []string{"password", "passwd", "pw", "code", "otp", "token", "secret", "answer", "cookie", "key", "authorization"}

// Redacted replaces a secret-looking attribute value.
const Redacted = "[redacted]"

// NewLogger builds the JSON logger; attributes named like secrets are redacted by
// construction, whatever the call site passes.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(strings.ToUpper(orDefault(level, "info"))))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: redact}))
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func redact(_ []string, a slog.Attr) slog.Attr {
	k := strings.ToLower(a.Key)
	for _, s := range secretKeys {
		if k == s || strings.HasSuffix(k, "_"+s) || strings.HasPrefix(k, s+"_") {
			return slog.String(a.Key, Redacted)
		}
	}
	return a
}

// Sleep waits d or until ctx ends; adapters take it as their default and tests inject another.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
