package apply

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
)

func errorsAs[T any](err error, target *T) bool { return errors.As(err, target) }

// dependsOn returns the names of same-kind objects a document depends on
// (services' depends_on); other kinds have none.
func dependsOn(doc Document) []string {
	if doc.Kind != "Service" {
		return nil
	}
	var spec struct {
		DependsOn []string `json:"depends_on"`
	}
	_ = json.Unmarshal(doc.Spec, &spec)
	return spec.DependsOn
}

// orderDependencies returns items with each object after the same-kind
// objects it depends on (a stable depth-first topological order; cycles
// are broken where found and handled by the caller).
func orderDependencies[T any](items []T, key func(T) (kind, name string, deps []string)) []T {
	index := map[string]int{}
	for i, it := range items {
		k, n, _ := key(it)
		index[k+"/"+n] = i
	}
	state := make([]int, len(items)) // 0 new, 1 visiting, 2 done
	out := make([]T, 0, len(items))
	var visit func(i int)
	visit = func(i int) {
		if state[i] != 0 {
			return
		}
		state[i] = 1
		k, _, deps := key(items[i])
		for _, d := range deps {
			if j, ok := index[k+"/"+d]; ok {
				visit(j)
			}
		}
		state[i] = 2
		out = append(out, items[i])
	}
	for i := range items {
		visit(i)
	}
	return out
}

// missingDeps returns the dependencies of doc that are named in this batch
// but do not exist yet (only possible in a cycle).
func missingDeps(ctx context.Context, tx *sql.Tx, k *Kind, doc Document, batch map[string]string) []string {
	var missing []string
	for _, d := range dependsOn(doc) {
		if batch[k.Name+"/"+d] == "" {
			continue // not in the batch: the service validates it
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM services WHERE name = $1`, d).Scan(&n); err == nil && n == 0 {
			missing = append(missing, d)
		}
	}
	return missing
}

// withoutDeps returns doc with the given dependencies removed from its spec.
func withoutDeps(doc Document, drop []string) Document {
	var spec map[string]any
	if err := json.Unmarshal(doc.Spec, &spec); err != nil {
		return doc
	}
	if deps, ok := spec["depends_on"].([]any); ok {
		spec["depends_on"] = slices.DeleteFunc(deps, func(v any) bool {
			s, _ := v.(string)
			return slices.Contains(drop, s)
		})
	}
	doc.Spec = EncodeSpec(spec)
	return doc
}
