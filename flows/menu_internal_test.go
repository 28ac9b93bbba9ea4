package flows

import "testing"

// A notice's menu is picked by key, by place when a choice has no key, or by label (case,
// punctuation and apostrophes aside); anything else is no pick.
func TestPickMenu(t *testing.T) {
	helpdesk := []Choice{{ID: "h:47", Label: "47", Key: "1"}, {ID: "h:12", Label: "12", Key: "2"},
		{ID: "h:83", Label: "83", Key: "3"}, {ID: "h:no", Label: "I'm not on a call"}}
	notice := []Choice{{ID: "x:notme", Label: "This wasn't me"}}
	reminder := []Choice{{ID: "r:register", Label: "Register now"}, {ID: "r:snooze", Label: "Remind me in 3 days"}}
	for _, c := range []struct {
		menu []Choice
		text string
		want string
	}{
		{helpdesk, "1", "h:47"}, {helpdesk, " 3. ", "h:83"}, {helpdesk, "4", "h:no"}, {helpdesk, "12", "h:12"},
		{helpdesk, "83", "h:83"}, {helpdesk, "im not on a call", "h:no"}, {helpdesk, "5", ""}, {helpdesk, "99", ""},
		{notice, "1", "x:notme"}, {notice, "1)", "x:notme"}, {notice, "This wasn’t me!", "x:notme"},
		{notice, "this wasnt me", "x:notme"}, {notice, "2", ""}, {notice, "it was me", ""}, {notice, "", ""},
		{reminder, "2", "r:snooze"}, {reminder, "register now", "r:register"}, {reminder, "register", ""},
		{reminder, "1234", ""},
	} {
		got, ok := pickMenu(c.menu, c.text)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%q in %v: %q %v, want %q", c.text, c.menu, got, ok, c.want)
		}
	}
}
