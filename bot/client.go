package bot

import (
	"net/http"
	"time"
)

// PooledClient is an HTTP client for a chat platform's API: it keeps enough idle connections
// for the concurrent steps (Go's default keeps two per host, so a busy bot would dial anew for
// most calls), and asks for answers as they are (see Uncompressed).
func PooledClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	Uncompressed(t)
	return &http.Client{Transport: t, Timeout: timeout}
}

// Uncompressed makes t ask for answers as they are: net/http's transport otherwise adds
// "Accept-Encoding: gzip" to every request (a header map of its own per request), and a
// service that then compresses (Slack's Web API is reported to, asked) costs the inflating of every
// answer, about 4 kB more allocated per answer of a kB or two (BenchmarkCompressedAnswer).
// The bot's answers are small and its CPU matters more than their bytes; everything else of
// t (proxy from the environment, HTTP/2, TLS) stays.
func Uncompressed(t *http.Transport) { t.DisableCompression = true }
