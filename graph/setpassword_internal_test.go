package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/resetbot/resetbot/flows"
	"github.com/resetbot/resetbot/graph/graphtest"
)

// sent is what reached the wire of one Graph request.
type sent struct {
	Method, Path, Query, ContentType, Accept string
	Body                                     any
}

// recorder keeps the Graph requests (not the token requests) that pass through it.
type recorder struct {
	mu   sync.Mutex
	reqs []sent
	next http.RoundTripper
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := sent{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery, ContentType: req.Header.Get("Content-Type"), Accept: req.Header.Get("Accept")}
	if req.Body != nil && req.Body != http.NoBody {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		if err := json.Unmarshal(b, &s.Body); err != nil {
			s.Body = string(b)
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, s)
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) take() []sent {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.reqs
	r.reqs = nil
	return out
}

// sdkSetPassword is how SetPassword set a password through the SDK's request builders.
func sdkSetPassword(ctx context.Context, d *Directory, userID, password string, forceChange bool) error {
	pp := models.NewPasswordProfile()
	pp.SetPassword(&password)
	pp.SetForceChangePasswordNextSignIn(&forceChange)
	u := models.NewUser()
	u.SetPasswordProfile(pp)
	_, err := d.client.Users().ByUserId(userID).Patch(ctx, u, nil)
	return err
}

// SetPassword's plain request is the SDK's: the same method, path, headers and JSON body, the
// same change in the tenant, and the same outcome when Graph refuses (a password the policy
// refuses is a flows.PasswordError, another refusal an error naming Graph's status and code).
func TestSetPasswordMatchesSDK(t *testing.T) {
	// one tenant for each way, so neither sees the other's password
	start := func() (*graphtest.Tenant, *Directory, *recorder) {
		tn := graphtest.New()
		graphtest.DemoUsers(tn)
		if err := tn.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tn.Close)
		tn.Strict(t)
		rec := &recorder{next: http.DefaultTransport}
		d, err := New(Config{BaseURL: tn.GraphURL(), Credential: NewClientCredential(tn.TokenURL(), tn.ClientID, tn.ClientSecret, nil), Transport: rec})
		if err != nil {
			t.Fatal(err)
		}
		return tn, d, rec
	}
	sdkTenant, sdkDir, sdkRec := start()
	plainTenant, plainDir, plainRec := start()
	changes := func(tn *graphtest.Tenant) []graphtest.Change {
		out := tn.Changes()
		for i := range out {
			out[i].Time = time.Time{}
		}
		return out
	}
	ctx := context.Background()
	const alice, synced = "a11ce000-0000-4000-8000-000000000001", "da4e0000-0000-4000-8000-000000000004"
	for _, c := range []struct {
		user, password string
		force          bool
	}{{alice, "Granite-Orchid-Lantern-8", false}, {alice, "Granite-Orchid-Lantern-9", true}, {alice, "password123", false},
		{synced, "Fine-Passw0rd-1", true}, {"00000000-0000-4000-8000-00000000dead", "Fine-Passw0rd-2", false}} {
		sdkErr := sdkSetPassword(ctx, sdkDir, c.user, c.password, c.force)
		plainErr := plainDir.SetPassword(ctx, c.user, c.password, c.force)
		sdkSent, plainSent := sdkRec.take(), plainRec.take()
		if len(sdkSent) != 1 || !reflect.DeepEqual(sdkSent, plainSent) {
			t.Errorf("%s %q: the SDK sent %+v, the plain request %+v", c.user, c.password, sdkSent, plainSent)
		}
		su, _ := sdkTenant.User(c.user)
		pu, _ := plainTenant.User(c.user)
		if sc, pc := changes(sdkTenant), changes(plainTenant); !reflect.DeepEqual(sc, pc) || su.Password != pu.Password {
			t.Errorf("%s %q: changes %+v and %+v, password %q and %q", c.user, c.password, sc, pc, su.Password, pu.Password)
		}
		if (sdkErr == nil) != (plainErr == nil) {
			t.Fatalf("%s %q: SDK %v, plain %v", c.user, c.password, sdkErr, plainErr)
		}
		if sdkErr == nil {
			continue
		}
		code, msg := odataMessage(sdkErr)
		var se *statusError
		var pe *flows.PasswordError
		refused := statusOf(sdkErr) == http.StatusBadRequest && c.password == "password123"
		switch {
		case refused && !errors.As(plainErr, &pe):
			t.Errorf("%q: a policy refusal is %v", c.password, plainErr)
		case refused:
		case !errors.As(plainErr, &se):
			t.Errorf("%s: %v is not Graph's answer", c.user, plainErr)
		default:
			if pc, pm := se.odata(); se.Status != statusOf(sdkErr) || pc != code || pm != msg || code == "" {
				t.Errorf("%s: SDK %d %s %q, plain %d %s %q", c.user, statusOf(sdkErr), code, msg, se.Status, pc, pm)
			}
		}
	}
	if len(changes(plainTenant)) != 2 {
		t.Fatalf("changes %+v: the comparison did not cover two writes", changes(plainTenant))
	}
}
