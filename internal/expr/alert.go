package expr

import "sync"

// alertEnv is built once; an Env is immutable and safe for concurrent use.
var alertEnv = sync.OnceValues(func() (*Env, error) {
	return NewEnv(
		Var{Name: "labels", Type: StringMap, Doc: "the alert's labels, e.g. labels[\"env\"] == \"prod\""},
		Var{Name: "severity", Type: String, Doc: "the alert's severity label, or \"\" when it has none"},
		Var{Name: "service", Type: String, Doc: "the alert's service label, or \"\" when it has none"},
	)
})

// AlertEnv returns the environment of alert routing conditions: `labels`
// (map of string to string), `severity` and `service` (strings, "" when the
// label is missing). Example: severity == "critical" && labels["env"]
// .startsWith("prod"). The Env is shared and safe for concurrent use.
func AlertEnv() (*Env, error) { return alertEnv() }

// AlertVars returns the variables of AlertEnv for an alert's labels. A
// missing label reads as "" in severity and service; labels["x"] on a
// missing label is an evaluation error (routing treats it as no match),
// so a condition that means to handle absence tests `"x" in labels` first.
func AlertVars(labels map[string]string) map[string]any {
	if labels == nil {
		labels = map[string]string{}
	}
	return map[string]any{
		"labels":   labels,
		"severity": labels["severity"],
		"service":  labels["service"],
	}
}
