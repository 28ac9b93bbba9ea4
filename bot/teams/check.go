package teams

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// Check asks the token endpoint for the bot's outbound token, as every reply needs one, and
// says what the Microsoft identity platform's error means for the operator (invalid_client:
// a wrong or expired TEAMS_APP_PASSWORD or TEAMS_APP_ID; unauthorized_client or a 400: the app
// registration or TEAMS_TENANT_ID).
func (a *Adapter) Check(ctx context.Context) []string {
	_, err := a.token.Token()
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		switch re.ErrorCode {
		case "invalid_client":
			return []string{fmt.Sprintf("teams: the token endpoint refused the bot's credentials (invalid_client, HTTP %d): check TEAMS_APP_ID and TEAMS_APP_PASSWORD (a client secret of the bot's app registration that has not expired)", re.Response.StatusCode)}
		case "":
		default:
			return []string{fmt.Sprintf("teams: the token endpoint refused the bot (%s, HTTP %d): check TEAMS_APP_ID and TEAMS_TENANT_ID against the bot's app registration", re.ErrorCode, re.Response.StatusCode)}
		}
	}
	return []string{fmt.Sprintf("teams: cannot get the bot's token: %v", err)}
}
