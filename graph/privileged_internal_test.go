package graph

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
)

// endlessAssignments answers every role-assignment listing with one more page: a listing
// longer than the walk reads.
type endlessAssignments struct {
	next  http.RoundTripper
	pages atomic.Int64
}

func (e *endlessAssignments) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/v1.0/roleManagement/directory/roleAssignments" || r.URL.Query().Get("$filter") != "" {
		return e.next.RoundTrip(r)
	}
	n := e.pages.Add(1)
	u := *r.URL
	u.RawQuery = "$select=principalId&$skiptoken=" + strconv.FormatInt(n, 10)
	body := `{"value":[{"principalId":"p` + strconv.FormatInt(n, 10) + `"}],"@odata.nextLink":"` + u.String() + `"}`
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)), Request: r}, nil
}

// A privilege listing the walk stops reading before its end is a privilege listing that failed:
// whoever is on the pages left unread may hold a role, so the roster walk fails rather than
// count them as people who may self-serve.
func TestPrivilegeListingCutShortFailsTheWalk(t *testing.T) {
	tn := graphtest.New()
	graphtest.DemoUsers(tn)
	if err := tn.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tn.Close)
	endless := &endlessAssignments{next: http.DefaultTransport}
	d, err := New(Config{BaseURL: tn.GraphURL(), Credential: NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil), Transport: endless})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if p, err := d.privilegedUsers(ctx); err == nil {
		t.Fatalf("%d pages read, %d privileged, no error: the rest counted as unprivileged", endless.pages.Load(), len(p))
	}
	listed := 0
	if err := d.EachUser(ctx, nil, func(flows.Account) error { listed++; return nil }); err == nil {
		t.Fatalf("the roster walk listed %d people without their privilege", listed)
	}
}
