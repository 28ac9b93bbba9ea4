package teams

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/url"
)

// Commands are the bot's command list in Teams (they only suggest text; the bot parses it).
var Commands = []struct{ Title, Description string }{
	{"I'm locked out", "Unlock your account or reset your password"},
	{"reset", "Reset your password"},
	{"register", "Set up how the bot checks it's you"},
	{"status", "What is registered, and where we are"},
	{"help", "What the bot can do"},
	{"cancel", "Stop what we are doing"},
	{"policy show", "Bot admins: the self-service policy"},
	{"report", "Bot admins: registration report"},
	{"remind now", "Bot admins: start a reminder campaign"},
}

// Manifest is the Teams app manifest for the bot.
func Manifest(appID, publicBaseURL, version string) (map[string]any, error) {
	u, err := url.Parse(publicBaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("teams package: PUBLIC_BASE_URL %q is not a URL", publicBaseURL)
	}
	var cmds []map[string]string
	for _, c := range Commands {
		cmds = append(cmds, map[string]string{"title": c.Title, "description": c.Description})
	}
	return map[string]any{
		"$schema":         "https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json",
		"manifestVersion": "1.17", "version": version, "id": appID,
		"developer":   map[string]string{"name": "IT", "websiteUrl": publicBaseURL, "privacyUrl": publicBaseURL, "termsOfUseUrl": publicBaseURL},
		"name":        map[string]string{"short": "resetbot", "full": "resetbot: password self-service"},
		"description": map[string]string{"short": "Reset your password or unlock your account", "full": "Reset your password or unlock your account without calling the helpdesk. The bot checks it's you with the methods you registered, then lets you choose a new password on a one-time page."},
		"icons":       map[string]string{"color": "color.png", "outline": "outline.png"},
		"accentColor": "#0B4F9C",
		"bots": []map[string]any{{"botId": appID, "scopes": []string{"personal"}, "supportsFiles": false, "isNotificationOnly": false,
			"commandLists": []map[string]any{{"scopes": []string{"personal"}, "commands": cmds}}}},
		"permissions":  []string{"identity", "messageTeamMembers"},
		"validDomains": []string{u.Hostname()},
	}, nil
}

// icon draws a simple key-shaped mark: colour on a filled square, or white on transparent.
func icon(size int, outline bool) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bg := color.NRGBA{0x0B, 0x4F, 0x9C, 0xFF}
	fg := color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			cx, cy := float64(x)/float64(size), float64(y)/float64(size)
			ring := (cx-0.35)*(cx-0.35)+(cy-0.5)*(cy-0.5) < 0.04 && (cx-0.35)*(cx-0.35)+(cy-0.5)*(cy-0.5) > 0.015
			shaft := cx > 0.5 && cx < 0.85 && cy > 0.46 && cy < 0.54
			tooth := (cx > 0.7 && cx < 0.76 || cx > 0.8 && cx < 0.85) && cy >= 0.54 && cy < 0.64
			switch {
			case ring || shaft || tooth:
				img.Set(x, y, fg)
			case !outline:
				img.Set(x, y, bg)
			}
		}
	}
	return img
}

// WritePackage writes the zip Teams admins upload: manifest.json and the two icons.
func WritePackage(w io.Writer, appID, publicBaseURL, version string) error {
	m, err := Manifest(appID, publicBaseURL, version)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	mj, _ := json.MarshalIndent(m, "", "  ")
	files := []struct {
		name string
		data func() ([]byte, error)
	}{
		{"manifest.json", func() ([]byte, error) { return mj, nil }},
		{"color.png", func() ([]byte, error) { return pngBytes(icon(192, false)) }},
		{"outline.png", func() ([]byte, error) { return pngBytes(icon(32, true)) }},
	}
	for _, f := range files {
		b, err := f.data()
		if err != nil {
			return err
		}
		fw, err := zw.Create(f.name)
		if err != nil {
			return err
		}
		if _, err := fw.Write(b); err != nil {
			return err
		}
	}
	return zw.Close()
}

func pngBytes(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	err := png.Encode(&b, img)
	return b.Bytes(), err
}
