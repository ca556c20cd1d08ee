package notify

import (
	"strings"
	"testing"
)

func TestTemplates_Override(t *testing.T) {
	r := newRecorder(t)
	s, err := NewSlack(SlackConfig{
		URL:   r.URL,
		Title: `{{ .Receiver }} {{ .Reason }} {{ upper "x" }} {{ lower .Status }}`,
		Text:  `{{ range .Alerts }}{{ .Fingerprint }}:{{ truncate 4 (index .Annotations "summary") }};{{ end }}{{ reasonText .Reason }}|{{ join "," (values .GroupLabels) }}|{{ range pairs .CommonLabels }}{{ .Name }} {{ end }}`,
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text, err := s.text.render(testNotification())
	if err != nil {
		t.Fatal(err)
	}
	if want := "abc:dis…;def:dis…;new alerts|DiskFull|alertname service severity "; text != want {
		t.Errorf("text %q, want %q", text, want)
	}
	title, err := s.title.render(testNotification())
	if err != nil {
		t.Fatal(err)
	}
	if want := "team-payments new_alerts X firing"; title != want {
		t.Errorf("title %q, want %q", title, want)
	}
}

func TestTemplates_OutputBounded(t *testing.T) {
	tt, err := parseText("text", `{{ range .Alerts }}{{ .Fingerprint }}{{ end }}`, "")
	if err != nil {
		t.Fatal(err)
	}
	n := testNotification()
	n.Alerts = make([]Alert, 0, 30000)
	for range 30000 {
		n.Alerts = append(n.Alerts, Alert{Status: Firing, Fingerprint: strings.Repeat("f", 16)})
	}
	if _, err := tt.render(n); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("render of 480 KB: %v", err)
	}
}

func TestTemplates_Defaults(t *testing.T) {
	for _, name := range []string{"title.tmpl", "email.txt.tmpl", "slack.text.tmpl", "teams.text.tmpl"} {
		tt, err := parseText(name, "", name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// An empty notification renders too (no alerts, no labels).
		if _, err := tt.render(&Notification{}); err != nil {
			t.Errorf("%s on an empty notification: %v", name, err)
		}
	}
	ht, err := parseHTML("html", "", "email.html.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ht.render(&Notification{}); err != nil {
		t.Errorf("html on an empty notification: %v", err)
	}
	// The default title without group labels names the receiver.
	tt, _ := parseText("title", "", "title.tmpl")
	got, _ := tt.render(&Notification{Receiver: "ops"})
	if strings.TrimSpace(got) != "[RESOLVED] ops" {
		t.Errorf("title %q", got)
	}
}
