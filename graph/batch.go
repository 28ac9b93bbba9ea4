package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/uuid"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/internal/jsonscan"
)

// A look-up's reads (the user by id, transitive memberships, role assignments, PIM
// eligibility) go to Graph as one JSON batch (graph-docs concepts/json-batching.md): one HTTP
// round trip through the same middleware (retries of the whole batch, telemetry) instead of
// four requests each built and parsed by the SDK, which made most of the bot's CPU time and
// allocations per chat step. The batch's answers are plain JSON read into small structs. A
// read the batch could not answer (throttled or briefly unavailable, a second page of
// memberships) is made again on its own through the SDK, with its retries, so the outcome
// is the same as without the batch. Graph runs the requests of a batch in any order, at once.

// batchReq is one request of a JSON batch.
type batchReq struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	URL    string `json:"url"`
}

// batchResp is one answer of a JSON batch.
type batchResp struct {
	ID     string          `json:"id"`
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`

	body    jsonscan.Value // Body as a Value of the batch's document, when scanBatch read it
	checked bool
}

// answer is the body to read: checked once with the batch's document when scanBatch read it.
func (r batchResp) answer() answer { return answer{raw: r.Body, val: r.body, checked: r.checked} }

func (r batchResp) ok() bool { return r.Status >= 200 && r.Status < 300 }

// batchID names the look-up's requests.
const (
	bUser     = "user"
	bMembers  = "memberships"
	bAssigned = "assignments"
	bEligible = "eligibility"
	bFind     = "find" // the search by mail or UPN (a pinned look-up's)
)

// queryValue escapes an OData query value (spaces as %20, as the SDK sends them).
func queryValue(v string) string { return strings.ReplaceAll(url.QueryEscape(v), "+", "%20") }

// userSelect is $select of userFields.
var userSelect = strings.Join(userFields, ",")

// lookupRequests are the batch's requests for a user id: the privilege checks, and the user
// itself when withUser; extra is room for more requests.
func lookupRequests(id string, withUser bool, extra int) []batchReq {
	p := url.PathEscape(id)
	// queryValue("principalId eq '" + id + "'"), escaped piece by piece (QueryEscape is
	// byte by byte): no new string for the constant parts and an id that needs no escaping
	const principal = "principalId%20eq%20%27"
	q := queryValue(strings.ReplaceAll(id, "'", "''"))
	// the URLs, built into one string (one allocation) of which each is a slice
	parts := [4][5]string{{"/users/", p, "/transitiveMemberOf?$select=id,isAssignableToRole"},
		{"/roleManagement/directory/roleAssignments?$filter=", principal, q, "%27&$select=id"},
		{"/roleManagement/directory/roleEligibilityScheduleInstances?$filter=", principal, q, "%27&$select=id"},
		{"/users/", p, "?$select=", userSelect}}
	n := 3
	if withUser {
		n = 4
	}
	var lens [4]int
	for i, u := range parts[:n] {
		for _, x := range u {
			lens[i] += len(x)
		}
	}
	var b strings.Builder
	b.Grow(lens[0] + lens[1] + lens[2] + lens[3])
	for _, u := range parts[:n] {
		for _, x := range u {
			b.WriteString(x)
		}
	}
	all := b.String()
	ids := [4]string{bMembers, bAssigned, bEligible, bUser}
	rs := make([]batchReq, n, 4+extra)
	for i := range rs {
		rs[i] = batchReq{ID: ids[i], Method: http.MethodGet, URL: all[:lens[i]]}
		all = all[lens[i]:]
	}
	return rs
}

// request makes one Graph request outside the SDK, with a token from the same credential and
// the headers the SDK sends, through the SDK's retry handler (429, 503 and 504 retried as
// Retry-After says; see plainChain), and decodes a 2xx JSON answer into out (when out is not
// nil). Another status is an error in the SDK's words: "graph: op: status code: message".
// A redirect is not followed: it is an answer like any other status.
func (d *Directory) request(ctx context.Context, op, method, path string, body any, out any) error {
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return fmt.Errorf("graph: %s: %w", op, err)
		}
	}
	b, err := d.requestBody(ctx, op, method, path, data, out != nil)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("graph: %s: %w", op, err)
	}
	return nil
}

// maxAnswer bounds the answer request reads.
const maxAnswer = 8 << 20

// requestBody makes request's request, with body (JSON; none when nil), and returns the 2xx
// answer's body (when read), read in one piece of the size the answer announces: json.Decoder
// read it in growing pieces and scanned it once more to find its end.
func (d *Directory) requestBody(ctx context.Context, op, method, path string, body []byte, read bool) ([]byte, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: d.scopes})
	if err != nil {
		return nil, fmt.Errorf("graph: %s: token: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	// the headers' values in one array (Header.Set makes one for each); the names canonical
	vals := [...]string{d.authorization(tok.Token), "application/json", "high", "application/json",
		d.wire.sdkVersion, d.wire.userAgent, requestID()}
	h := vals[:]
	req.Header["Authorization"], req.Header["Accept"] = h[0:1:1], h[1:2:2]
	req.Header["Sdkversion"], req.Header["User-Agent"], req.Header["Client-Request-Id"] = h[4:5:5], h[5:6:6], h[6:7:7]
	if flows.UserWaiting(ctx) {
		req.Header[canonicalPriorityHeader] = h[2:3:3]
	}
	if body != nil {
		// the body stays the reader http.NewRequest made of the bytes (and its GetBody): net/http
		// writes such a body with the headers, in one write, where it writes the headers of any
		// other body first, on their own (a write, and a packet, more for every request with a
		// body); a retry gets its own copy from GetBody (retryBody)
		req.Header["Content-Type"] = h[3:4:4]
	}
	// the transport itself: http.Client would copy the headers for redirects it never follows
	resp, err := d.plain.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %s %s: %w", op, method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		return nil, &statusError{Op: op, Status: resp.StatusCode, Body: b}
	}
	if !read {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil, nil
	}
	if n := resp.ContentLength; n >= 0 && n <= maxAnswer {
		b := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, b); err != nil {
			return nil, fmt.Errorf("graph: %s: %w", op, err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("graph: %s: %w", op, err)
	}
	return b, nil
}

// requestID is a random (version 4) UUID, as uuid.NewString makes it but with one allocation:
// the client-request-id Graph logs the request under.
func requestID() string {
	var u uuid.UUID
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant RFC 4122
	return u.String()
}

// retryBody gives a request the SDK's retry handler sends again (it says so with
// Retry-Attempt) a body of its own, from the request's GetBody (a plain request's, which
// http.NewRequest sets for its bytes); false for any other request. The retry handler would
// rewind a body it can seek, but the transport may still be reading an attempt's body after
// its answer arrived (net/http's RoundTripper contract: the body is closed, maybe by another
// goroutine, after RoundTrip returns, and a caller reusing it must wait for that): what it then
// read, after the body was rewound, the next attempt would miss ("ContentLength=126 with Body
// length 0").
func retryBody(r *http.Request) (io.ReadCloser, bool) {
	if r.GetBody == nil || len(r.Header["Retry-Attempt"]) == 0 {
		return nil, false
	}
	b, err := r.GetBody()
	return b, err == nil
}

// statusError is Graph's error answer to a request made outside the SDK.
type statusError struct {
	Op     string
	Status int
	Body   []byte
}

func (e *statusError) Error() string {
	code, msg := e.odata()
	return fmt.Sprintf("graph: %s: %d %s: %s", e.Op, e.Status, code, msg)
}

// odata is the code and message of Graph's error body.
func (e *statusError) odata() (code, msg string) {
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(e.Body, &b)
	return b.Error.Code, b.Error.Message
}

// batch sends requests as one JSON batch and returns the answers by id; an error when the
// batch itself failed or left a request unanswered. The answers' bodies are slices of the
// batch's answer, read once (jsonscan); an answer jsonscan cannot read is decoded with
// encoding/json, for its error.
func (d *Directory) batch(ctx context.Context, reqs []batchReq) (map[string]batchResp, error) {
	raw, err := d.requestBody(ctx, "batch", http.MethodPost, "/$batch", appendBatch(nil, reqs), true)
	if err != nil {
		return nil, err
	}
	got := make(map[string]batchResp, len(reqs))
	if scanBatch(raw, reqs, got) != nil {
		var out struct {
			Responses []batchResp `json:"responses"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("graph: batch: %w", err)
		}
		clear(got)
		for _, r := range out.Responses {
			got[r.ID] = r
		}
	}
	for _, r := range reqs {
		if _, ok := got[r.ID]; !ok {
			return nil, fmt.Errorf("graph: batch: no answer to %s", r.ID)
		}
	}
	return got, nil
}

// scanBatch reads a batch's answers into got as encoding/json reads them into batchResp.
func scanBatch(raw []byte, reqs []batchReq, got map[string]batchResp) error {
	return jsonscan.Object(raw, func(k []byte, v jsonscan.Value) error {
		if !jsonscan.Is(k, "responses") {
			return nil
		}
		clear(got)
		return v.Elements(func(v jsonscan.Value) error {
			var r batchResp
			err := v.Members(func(k []byte, val jsonscan.Value) (err error) {
				v := val.Raw()
				switch {
				case jsonscan.Is(k, "id"):
					r.ID = ""
					for _, q := range reqs { // the id as sent: no new string
						if len(v) == len(q.ID)+2 && v[0] == '"' && string(v[1:len(v)-1]) == q.ID {
							r.ID = q.ID
						}
					}
					if r.ID == "" {
						r.ID, err = jsonscan.String(v)
					}
				case jsonscan.Is(k, "status"):
					if n, aerr := strconv.Atoi(string(v)); aerr == nil {
						r.Status = n
					} else {
						// into a variable of this branch: r itself stays on the stack
						var st int
						err = json.Unmarshal(v, &st)
						r.Status = st
					}
				case jsonscan.Is(k, "body"):
					r.Body, r.body, r.checked = v, val, true
				}
				return err
			})
			got[r.ID] = r
			return err
		})
	})
}

// redo reports whether a batched read must be made again on its own: Graph throttled it or was
// briefly unavailable (429, 503, 504), which the SDK's retry handler retries; any other error
// is an answer, as it would be without the batch.
func redo(r batchResp) bool {
	switch r.Status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// batchError is a batched read's error answer, like the SDK's for the same answer.
func batchError(op string, r batchResp) error {
	return &statusError{Op: op, Status: r.Status, Body: r.Body}
}

// lookupByID reads a user and its privilege in one batch (see above).
func (d *Directory) lookupByID(ctx context.Context, id string) (flows.Account, error) {
	got, err := d.batch(ctx, lookupRequests(id, true, 0))
	if err != nil {
		d.log("batched look-up failed, reading on its own", err)
		return d.lookupByIDApart(ctx, id)
	}
	return d.accountFrom(ctx, id, got)
}

// accountFrom reads the user id and its privilege from the answers to lookupRequests(id, true).
func (d *Directory) accountFrom(ctx context.Context, id string, got map[string]batchResp) (flows.Account, error) {
	var a flows.Account
	d.privilegeFrom(ctx, got, id, &a)
	u := got[bUser]
	switch {
	case u.Status == http.StatusNotFound:
		return flows.Account{}, flows.ErrNotFound
	case redo(u):
		gu, err := d.getUser(ctx, id)
		if err != nil {
			return flows.Account{}, err
		}
		acct := account(gu)
		acct.Groups, acct.Privileged = a.Groups, a.Privileged
		return acct, nil
	case !u.ok():
		return flows.Account{}, batchError("get user", u)
	}
	var ru rawUser
	if err := readUser(u.answer(), &ru); err != nil {
		return flows.Account{}, fmt.Errorf("graph: get user: %w", err)
	}
	acct := ru.account()
	acct.Groups, acct.Privileged = a.Groups, a.Privileged
	return acct, nil
}

// rawUser is a user as Graph sends it, with the fields of userFields.
type rawUser struct {
	ID, DisplayName, Mail, UserPrincipalName, OnPremisesSecurityIdentifier string
	AccountEnabled, OnPremisesSyncEnabled                                  bool
}

// account is the user as flows sees it (like account, from the SDK's model).
func (u rawUser) account() flows.Account {
	return flows.Account{ID: u.ID, UPN: u.UserPrincipalName, Mail: u.Mail, DisplayName: u.DisplayName,
		Enabled: u.AccountEnabled, Synced: u.OnPremisesSyncEnabled, OnPremSID: u.OnPremisesSecurityIdentifier}
}

// lookupByIDApart is the look-up as separate SDK calls, in parallel.
func (d *Directory) lookupByIDApart(ctx context.Context, id string) (flows.Account, error) {
	var (
		u      flows.Account
		getErr error
		a      flows.Account
	)
	d.parallel(func() {
		gu, err := d.getUser(ctx, id)
		if getErr = err; err == nil {
			u = account(gu)
		}
	}, func() { d.privilege(ctx, id, &a) })
	if getErr != nil {
		return flows.Account{}, getErr
	}
	u.Groups, u.Privileged = a.Groups, a.Privileged
	return u, nil
}

// privilegeBatched fills a's groups and privilege from the three checks in one batch.
func (d *Directory) privilegeBatched(ctx context.Context, id string, a *flows.Account) {
	got, err := d.batch(ctx, lookupRequests(id, false, 0))
	if err != nil {
		d.log("batched privilege checks failed, reading them on their own", err)
		d.privilege(ctx, id, a)
		return
	}
	d.privilegeFrom(ctx, got, id, a)
}

// privilegeFrom reads the privilege checks' answers as privilege does; a check that failed
// makes the user privileged, and one Graph throttled or failed is made again on its own. For
// the stand-in of an unknown user nothing is made again: its answers are not read.
func (d *Directory) privilegeFrom(ctx context.Context, got map[string]batchResp, id string, a *flows.Account) {
	if id == unknownUser {
		return
	}
	var m flows.Account
	var errs []error
	if r := got[bMembers]; redo(r) {
		errs = append(errs, d.memberships(ctx, id, &m))
	} else if !r.ok() {
		errs = append(errs, batchError("memberships", r))
	} else if err := d.membershipsFrom(ctx, id, r.answer(), &m); err != nil {
		errs = append(errs, err)
	}
	count := func(key, op string, apart func(context.Context, string) (bool, error)) bool {
		r := got[key]
		if redo(r) {
			yes, err := apart(ctx, id)
			errs = append(errs, err)
			return yes
		}
		if key == bEligible && r.Status == http.StatusBadRequest && d.noPIM(batchCode(r)) {
			return false
		}
		if !r.ok() {
			errs = append(errs, batchError(op, r))
			return false
		}
		some, err := someValues(r.answer())
		if err != nil {
			errs = append(errs, fmt.Errorf("graph: %s: %w", op, err))
			return false
		}
		return some
	}
	assigned := count(bAssigned, "role assignments", d.roleAssigned)
	eligible := count(bEligible, "role eligibility", d.eligibleRoles)
	a.Groups = m.Groups
	a.Privileged = m.Privileged || assigned || eligible
	for _, err := range errs {
		if err != nil {
			d.log("privilege unknown, treating the user as privileged", err)
			a.Privileged = true
		}
	}
}

// someValues reports whether a collection's answer lists any value, as decoding it into
// struct{ Value []json.RawMessage } would (with encoding/json's error for an answer that is
// not such an object), without copying the values.
func someValues(a answer) (bool, error) {
	n := 0
	err := a.object(func(k []byte, v jsonscan.Value) error {
		if !jsonscan.Is(k, "value") {
			return nil
		}
		n = 0
		return v.Elements(func(jsonscan.Value) error { n++; return nil })
	})
	if err != nil {
		var v struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(a.raw, &v); err != nil {
			return false, err
		}
		return len(v.Value) > 0, nil
	}
	return n > 0, nil
}

// batchCode is the code of Graph's error answer, error.code, as encoding/json would read it
// into struct{ Error struct{ Code string } } (read with jsonscan; encoding/json reads what
// jsonscan refuses).
func batchCode(r batchResp) string {
	var code string
	err := r.answer().object(func(k []byte, v jsonscan.Value) error {
		if !jsonscan.Is(k, "error") {
			return nil
		}
		return v.Members(func(k []byte, v jsonscan.Value) (err error) {
			if jsonscan.Is(k, "code") {
				code, err = jsonscan.String(v.Raw())
			}
			return err
		})
	})
	if err != nil {
		var e struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(r.Body, &e)
		return e.Error.Code
	}
	return code
}

// membershipsFrom reads the first page of transitive memberships from a batch answer; a
// further page is read through the SDK from its next link.
func (d *Directory) membershipsFrom(ctx context.Context, id string, body answer, a *flows.Account) error {
	var page membershipPage
	if err := readMemberships(body, &page); err != nil {
		return fmt.Errorf("graph: memberships: %w", err)
	}
	if page.Next != "" {
		// more than a page: all of them through the SDK, which follows the links
		return d.memberships(ctx, id, a)
	}
	for _, o := range page.Value {
		switch o.Type {
		case "#microsoft.graph.directoryRole":
			a.Privileged = true
		case "#microsoft.graph.group":
			a.Groups = append(a.Groups, o.ID)
			if o.IsAssignableToRole != nil && *o.IsAssignableToRole {
				a.Privileged = true
			}
		}
	}
	return nil
}
