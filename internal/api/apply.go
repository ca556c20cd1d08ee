package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// ApplyDocument is one document as the API accepts it.
type ApplyDocument struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec,omitempty"`
	Source     *apply.Source  `json:"source,omitempty" doc:"where the document came from, for error messages"`
}

// ApplyRequest applies documents in one transaction.
type ApplyRequest struct {
	Documents []ApplyDocument `json:"documents" maxItems:"20000"`
	DryRun    bool            `json:"dry_run,omitempty" doc:"validate and report without changing anything"`
	Prune     bool            `json:"prune,omitempty" doc:"delete objects an earlier apply of this set created and the documents no longer name"`
	Set       string          `json:"set,omitempty" maxLength:"63" doc:"the apply set (default \"default\")"`
}

// KindInfo describes a kind for the CLI.
type KindInfo struct {
	Name    string         `json:"name"`
	Plural  string         `json:"plural"`
	Aliases []string       `json:"aliases"`
	Columns []apply.Column `json:"columns"`
}

func (a *API) registerApply() {
	reg := a.cfg.Registry
	huma.Register(a.huma, huma.Operation{
		OperationID: "apply", Method: http.MethodPost, Path: "/apply", Tags: []string{"Apply"},
		Summary:      "Apply declarative documents",
		Description:  "All documents or none, in one transaction. Errors name the file, the document and the field.",
		MaxBodyBytes: ApplyMaxBodyBytes,
	}, func(ctx context.Context, in *struct{ Body ApplyRequest }) (*struct{ Body apply.Result }, error) {
		if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
			return nil, a.fail(ctx, err)
		}
		if identity.ActorFrom(ctx).Scope == identity.ScopeRead {
			return nil, a.fail(ctx, errs.Forbiddenf("this API token is read-only"))
		}
		docs := make([]apply.Document, len(in.Body.Documents))
		for i, d := range in.Body.Documents {
			doc, err := toDocument(d)
			if err != nil {
				return nil, a.fail(ctx, errs.WithField("documents["+itoa(i)+"]", err))
			}
			docs[i] = doc
		}
		res, err := reg.Apply(ctx, docs, apply.Options{DryRun: in.Body.DryRun, Prune: in.Body.Prune, Set: in.Body.Set})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body apply.Result }{res}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-kinds", Method: http.MethodGet, Path: "/kinds", Tags: []string{"Apply"},
		Summary: "List the kinds apply accepts and get prints",
	}, func(ctx context.Context, _ *struct{}) (*PageOutput[KindInfo], error) {
		if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
			return nil, a.fail(ctx, err)
		}
		var out []KindInfo
		for _, k := range reg.Kinds() {
			out = append(out, KindInfo{Name: k.Name, Plural: k.Plural, Aliases: k.Aliases, Columns: k.Columns})
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "export-kind", Method: http.MethodGet, Path: "/documents/{kind}", Tags: []string{"Apply"},
		Summary:     "Export every object of a kind as documents",
		Description: "What `groundcrew get KIND -o yaml` prints; applying it again changes nothing.",
	}, func(ctx context.Context, in *struct {
		Kind string `path:"kind" maxLength:"63"`
	}) (*PageOutput[apply.Document], error) {
		if err := identity.Authorize(ctx, identity.PermRead, uuid.Nil); err != nil {
			return nil, a.fail(ctx, err)
		}
		k, ok := reg.Lookup(in.Kind)
		if !ok {
			return nil, a.fail(ctx, errs.NotFoundf("no kind called %q", in.Kind))
		}
		docs, err := k.Export(ctx)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(docs, ""), nil
	})
}

func toDocument(d ApplyDocument) (apply.Document, error) {
	doc := apply.Document{APIVersion: d.APIVersion, Kind: d.Kind, Source: d.Source}
	raw, _ := json.Marshal(d.Metadata)
	if err := apply.DecodeStrict(raw, &doc.Metadata); err != nil {
		return doc, errs.WithField("metadata", err)
	}
	if d.Spec != nil {
		doc.Spec, _ = json.Marshal(d.Spec)
	}
	return doc, nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
