package alert

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// alertmanagerBody is a Prometheus-style batch of n alerts, as
// bench/alertload sends.
func alertmanagerBody(n int) []byte {
	now := time.Date(2026, 11, 27, 17, 0, 0, 123456789, time.UTC)
	list := make([]postableAlert, n)
	for i := range list {
		list[i] = postableAlert{
			Labels: map[string]string{"alertname": fmt.Sprintf("Load%02d", i%50), "instance": fmt.Sprintf("host-%05d:9100", i),
				"job": "node", "severity": "warning", "team": fmt.Sprintf("team-%d", i%7)},
			Annotations: map[string]string{"summary": fmt.Sprintf("Instance host-%05d:9100 is over its limit", i),
				"description": fmt.Sprintf("Alert %d of the alertload benchmark: value 0.%03d over the threshold.", i, i%1000)},
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(4 * time.Minute), GeneratorURL: "http://prometheus:9090/graph?g0.expr=up",
		}
	}
	b, _ := json.Marshal(list)
	return b
}

func BenchmarkParseAlertmanager(b *testing.B) {
	body := alertmanagerBody(100)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAlertmanager(body); err != nil {
			b.Fatal(err)
		}
	}
}
