package notify

import (
	"encoding/json"
	"testing"
)

// FuzzSpec feeds arbitrary receiver specs (as the API and apply decode
// them from untrusted input) through validation and the secret
// split/join/resolve: nothing panics, a split never leaks a secret into
// the public part, and join undoes split.
func FuzzSpec(f *testing.F) {
	f.Add(`{"channels":[{"webhook":{"url":"https://x.example.com/h?token=abc","secret":"0123456789abcdef0","bearer_token":"t"}}]}`)
	f.Add(`{"channels":[{"slack":{"url":"https://hooks.slack.com/services/A/B/C"}},{"email":{"from":"a@b.c","to":["d@e.f"],"smtp":{"host":"h","password":"pw"}}}]}`)
	f.Add(`{"channels":[{"teams":{"url":"<redacted>"}},{}]}`)
	f.Add(`{"owner":"x","channels":[{"email":{"from":"a@b.c","to":["d@e.f"],"smtp":{"host":"h","port":70000,"dial_timeout":"1s"}}}]}`)
	f.Fuzz(func(t *testing.T, data string) {
		var s Spec
		if json.Unmarshal([]byte(data), &s) != nil {
			return
		}
		_ = s.Validate()
		if len(s.Channels) == 0 || len(s.Channels) > MaxChannels {
			return
		}
		pub, sec := split(s.Channels)
		if !sameJSON(join(pub, sec), s.Channels) {
			t.Fatalf("join(split(x)) != x for %s", data)
		}
		for i, c := range pub {
			var none channelSecrets
			for _, f := range c.secretFields(&none) {
				if f.secret && *f.spec != "" && *f.spec != Redacted {
					t.Fatalf("channel %d field %s shows a secret after split", i, f.name)
				}
			}
		}
		if out, err := resolve(pub, s.Channels); err == nil && !sameJSON(out, s.Channels) {
			// Every redacted field was filled from the stored channels.
			for i := range out {
				var none channelSecrets
				for j, f := range out[i].secretFields(&none) {
					var n2 channelSecrets
					if *f.spec != *s.Channels[i].secretFields(&n2)[j].spec {
						t.Fatalf("resolve gave channel %d field %s a different value", i, f.name)
					}
				}
			}
		}
	})
}
