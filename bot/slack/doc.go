// Package slack is the Slack adapter: Socket Mode or the HTTP Events API, Block Kit replies,
// the App Home tab and the /sspr command, over slack-go.
package slack
