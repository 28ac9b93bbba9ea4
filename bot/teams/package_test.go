package teams_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"image/png"
	"testing"

	"github.com/resetbot/resetbot/bot/teams"
)

func TestPackage(t *testing.T) {
	var buf bytes.Buffer
	if err := teams.WritePackage(&buf, appID, "https://resetbot.contoso.com", "1.0.0"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int{"color.png": 192, "outline.png": 32}
	seen := 0
	for _, f := range zr.File {
		rc, _ := f.Open()
		switch f.Name {
		case "manifest.json":
			var m map[string]any
			if err := json.NewDecoder(rc).Decode(&m); err != nil {
				t.Fatal(err)
			}
			bots := m["bots"].([]any)[0].(map[string]any)
			cmds := bots["commandLists"].([]any)[0].(map[string]any)["commands"].([]any)
			if m["id"] != appID || bots["botId"] != appID || len(cmds) < 5 || len(cmds) > 10 || m["validDomains"].([]any)[0] != "resetbot.contoso.com" {
				t.Fatalf("manifest %v", m)
			}
			for _, c := range cmds {
				if len(c.(map[string]any)["title"].(string)) > 32 {
					t.Fatalf("command title too long: %v", c)
				}
			}
			seen++
		case "color.png", "outline.png":
			img, err := png.Decode(rc)
			if err != nil || img.Bounds().Dx() != sizes[f.Name] || img.Bounds().Dy() != sizes[f.Name] {
				t.Fatalf("%s: %v %v", f.Name, img.Bounds(), err)
			}
			seen++
		}
		rc.Close()
	}
	if seen != 3 {
		t.Fatalf("%d of 3 files", seen)
	}
}
