package bot

import (
	"net/http"
	"time"
)

// PooledClient is an HTTP client for a chat platform's API: it keeps enough idle connections
// for the concurrent steps (Go's default keeps two per host, so a busy bot would dial anew for
// most calls).
func PooledClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t, Timeout: timeout}
}
