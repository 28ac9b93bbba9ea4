package slack

import (
	"context"
	"encoding/json"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocket connects over Socket Mode and serves until ctx ends. Every envelope is acknowledged
// first, then worked on. At the end it waits for the connection to close (envelopes that arrive
// meanwhile are not acknowledged, so Slack sends them to another connection) and for the steps
// already acknowledged to finish.
func (a *Adapter) RunSocket(ctx context.Context) error {
	client := socketmode.New(a.api)
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case <-ctx.Done():
			events := client.Events
			for {
				select {
				case <-errc:
					a.Wait()
					return nil
				case _, ok := <-events:
					if !ok {
						events = nil
					}
				}
			}
		case err := <-errc:
			if ctx.Err() != nil { // the client saw the end first: a shutdown, not a failure
				a.Wait()
				return nil
			}
			return err
		case evt, ok := <-client.Events:
			if !ok {
				return nil
			}
			a.envelope(ctx, client, evt)
		}
	}
}

func (a *Adapter) envelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	if evt.Request == nil {
		return
	}
	switch evt.Type {
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeInteractive, socketmode.EventTypeSlashCommand:
	default:
		return
	}
	_ = client.Ack(*evt.Request)
	if !a.first(ctx, delivery("env:"+evt.Request.EnvelopeID)) {
		return
	}
	payload := append(json.RawMessage(nil), evt.Request.Payload...)
	switch evt.Type {
	case socketmode.EventTypeEventsAPI:
		a.dispatchEvent(ctx, payload)
	case socketmode.EventTypeInteractive:
		if cb, err := decodeInteraction(payload); err == nil {
			a.perUser(ctx, cb.Team.ID, cb.User.ID, cb.Channel.ID, func(ctx context.Context) { a.onInteraction(ctx, cb) })
		}
	case socketmode.EventTypeSlashCommand:
		if c, ok := evt.Data.(slackapi.SlashCommand); ok {
			a.perUser(ctx, c.TeamID, c.UserID, "", func(ctx context.Context) { a.onCommand(ctx, c) })
		}
	}
}
