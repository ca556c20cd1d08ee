package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// crud describes the get/create/update/delete operations of one kind of
// named object; lists differ per kind (filters) and are registered apart.
type crud[T, In any] struct {
	plural   string // URL segment: "services"
	singular string // for summaries: "service"
	tag      string // OpenAPI tag
	get      func(ctx context.Context, name string) (T, error)
	create   func(ctx context.Context, in In) (T, error)
	update   func(ctx context.Context, name string, in In, ifRevision int64) (T, error)
	delete   func(ctx context.Context, name string, ifRevision int64) error
	revision func(T) int64
}

// ObjectOutput is a single object with its ETag.
type ObjectOutput[T any] struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     T
}

// CreateInput is the body of a create.
type CreateInput[In any] struct {
	Body In
}

// UpdateInput is a replace guarded by If-Match.
type UpdateInput[In any] struct {
	NameParam
	IfMatch
	Body In
}

// DeleteInput is a delete guarded by If-Match.
type DeleteInput struct {
	NameParam
	IfMatch
}

func registerCRUD[T, In any](a *API, c crud[T, In]) {
	base := "/" + c.plural
	huma.Register(a.huma, huma.Operation{
		OperationID: "get-" + c.singular, Method: http.MethodGet, Path: base + "/{name}", Tags: []string{c.tag},
		Summary: "Get a " + c.singular,
	}, func(ctx context.Context, in *NameParam) (*ObjectOutput[T], error) {
		v, err := c.get(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ObjectOutput[T]{ETag: ETag(c.revision(v)), Body: v}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "create-" + c.singular, Method: http.MethodPost, Path: base, Tags: []string{c.tag},
		Summary: "Create a " + c.singular, DefaultStatus: http.StatusCreated, MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *CreateInput[In]) (*ObjectOutput[T], error) {
		v, err := c.create(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ObjectOutput[T]{ETag: ETag(c.revision(v)), Body: v}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "update-" + c.singular, Method: http.MethodPut, Path: base + "/{name}", Tags: []string{c.tag},
		Summary: "Replace a " + c.singular, Description: "Send If-Match with the ETag you read to avoid overwriting someone else's change.",
		MaxBodyBytes: MaxBodyBytes,
	}, func(ctx context.Context, in *UpdateInput[In]) (*ObjectOutput[T], error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		v, err := c.update(ctx, in.Name, in.Body, rev)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ObjectOutput[T]{ETag: ETag(c.revision(v)), Body: v}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "delete-" + c.singular, Method: http.MethodDelete, Path: base + "/{name}", Tags: []string{c.tag},
		Summary: "Delete a " + c.singular, DefaultStatus: http.StatusNoContent,
	}, func(ctx context.Context, in *DeleteInput) (*struct{}, error) {
		rev, err := in.Revision()
		if err != nil {
			return nil, err
		}
		if err := c.delete(ctx, in.Name, rev); err != nil {
			return nil, a.fail(ctx, err)
		}
		return nil, nil
	})
}
