package graph

import (
	"context"
	"fmt"
	"net/http"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/resetbot/resetbot/flows"
)

// Mailer sends email through Graph sendMail from a configured mailbox (application permission
// Mail.Send, best restricted to that mailbox with an application access policy).
type Mailer struct {
	d      *Directory
	sender string // the mailbox's UPN or object id
}

var _ flows.Mailer = (*Mailer)(nil)

// NewMailer sends as sender through d's Graph client.
func NewMailer(d *Directory, sender string) *Mailer { return &Mailer{d: d, sender: sender} }

// Send sends a plain-text message, not saved to Sent Items.
func (m *Mailer) Send(ctx context.Context, mail flows.Mail) error {
	msg := models.NewMessage()
	msg.SetSubject(&mail.Subject)
	body := models.NewItemBody()
	kind := models.TEXT_BODYTYPE
	body.SetContentType(&kind)
	body.SetContent(&mail.Body)
	msg.SetBody(body)
	var to []models.Recipientable
	for _, addr := range mail.To {
		r := models.NewRecipient()
		e := models.NewEmailAddress()
		a := addr
		e.SetAddress(&a)
		r.SetEmailAddress(e)
		to = append(to, r)
	}
	msg.SetToRecipients(to)
	req := users.NewItemSendMailPostRequestBody()
	req.SetMessage(msg)
	save := false
	req.SetSaveToSentItems(&save)
	if err := m.d.client.Users().ByUserId(m.sender).SendMail().Post(ctx, req, nil); err != nil {
		return apiErr("sendMail", err)
	}
	return nil
}

// ContactMethods reads the phone and email authentication methods the user already has in
// Entra ID (application permissions UserAuthMethod-Phone.Read.All and
// UserAuthMethod-Email.Read.All), as registered methods the policy may offer: mobile numbers
// for SMS, office numbers for calls, the email method. Both lists are read at once.
func (d *Directory) ContactMethods(ctx context.Context, userID string) ([]flows.Registered, error) {
	var (
		phones            models.PhoneAuthenticationMethodCollectionResponseable
		emails            models.EmailAuthenticationMethodCollectionResponseable
		phoneErr, mailErr error
	)
	d.parallel(
		func() {
			phones, phoneErr = d.client.Users().ByUserId(userID).Authentication().PhoneMethods().Get(ctx, nil)
		},
		func() {
			emails, mailErr = d.client.Users().ByUserId(userID).Authentication().EmailMethods().Get(ctx, nil)
		})
	if phoneErr != nil {
		return nil, apiErr("phone methods", phoneErr)
	}
	if mailErr != nil {
		return nil, apiErr("email methods", mailErr)
	}
	var out []flows.Registered
	for _, p := range phones.GetValue() {
		num := strings.ReplaceAll(str(p.GetPhoneNumber()), " ", "")
		typ := p.GetPhoneType()
		if num == "" || typ == nil {
			continue
		}
		switch *typ {
		case models.MOBILE_AUTHENTICATIONPHONETYPE:
			out = append(out, flows.Registered{Kind: flows.MethodSMS, Address: num})
		case models.OFFICE_AUTHENTICATIONPHONETYPE:
			out = append(out, flows.Registered{Kind: flows.MethodVoice, Address: num})
		}
	}
	for _, e := range emails.GetValue() {
		if a := str(e.GetEmailAddress()); a != "" {
			out = append(out, flows.Registered{Kind: flows.MethodEmail, Address: a})
		}
	}
	return out, nil
}

var _ flows.TAPIssuer = (*Directory)(nil)

// IssueTAP creates a one-time Temporary Access Pass (permission
// UserAuthMethod-TAP.ReadWrite.All). It is never retried: a retried create could leave
// two passes.
func (d *Directory) IssueTAP(ctx context.Context, userID string, lifetime time.Duration) (string, error) {
	m := models.NewTemporaryAccessPassAuthenticationMethod()
	mins := int32(lifetime / time.Minute)
	once := true
	m.SetLifetimeInMinutes(&mins)
	m.SetIsUsableOnce(&once)
	noRetry := &khttp.RetryHandlerOptions{MaxRetries: 0, ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false }}
	res, err := d.client.Users().ByUserId(userID).Authentication().TemporaryAccessPassMethods().Post(ctx, m,
		&users.ItemAuthenticationTemporaryAccessPassMethodsRequestBuilderPostRequestConfiguration{Options: []abs.RequestOption{noRetry}})
	if err != nil {
		return "", apiErr("temporary access pass", err)
	}
	if res.GetTemporaryAccessPass() == nil {
		return "", fmt.Errorf("graph: temporary access pass: none returned")
	}
	return *res.GetTemporaryAccessPass(), nil
}
