package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/metric"
)

// MetricsMaxBodyBytes bounds a metrics push: 10,000 samples with their
// series fit in well under it.
const MetricsMaxBodyBytes = 4 << 20

// SeriesListParams filter the list of series.
type SeriesListParams struct {
	Name   string   `query:"name" maxLength:"200" doc:"metric name"`
	Label  []string `query:"label" maxItems:"32" doc:"name=value a series' labels must have; repeatable"`
	Limit  int      `query:"limit" minimum:"0" maximum:"1000" default:"100" doc:"page size"`
	Cursor string   `query:"cursor" maxLength:"4000" doc:"next_cursor of the previous page"`
}

// RegisterMetrics registers the metric routes: the push, series and
// samples, and the charts and status of forecast rules.
func (a *API) RegisterMetrics(svc *metric.Service) {
	tags := []string{"Metrics"}
	huma.Register(a.huma, huma.Operation{
		OperationID: "push-metrics", Method: http.MethodPost, Path: "/metrics", Tags: tags,
		Summary: "Push metric samples",
		Description: "Operators. At most 10,000 samples per request, times within the last 35 days and at most 5 minutes ahead; " +
			"all stored in one transaction or none. Names and label names are [a-zA-Z_][a-zA-Z0-9_:]*; a sample at a time already stored replaces it.",
		MaxBodyBytes: MetricsMaxBodyBytes,
	}, func(ctx context.Context, in *struct{ Body metric.Push }) (*struct{ Body metric.PushResult }, error) {
		res, err := svc.Push(ctx, in.Body)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body metric.PushResult }{res}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-metric-series", Method: http.MethodGet, Path: "/metrics/series", Tags: tags,
		Summary: "List metric series", Description: "By name, then labels; filter by metric name and label values; paged.",
	}, func(ctx context.Context, in *SeriesListParams) (*PageOutput[metric.Series], error) {
		opts, err := ListParams{Limit: in.Limit, Cursor: in.Cursor}.Options()
		if err != nil {
			return nil, err
		}
		labels, err := metric.ParseLabelFilter("label", in.Label)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		items, next, err := svc.ListSeries(ctx, metric.SeriesFilter{Name: in.Name, Labels: labels, After: opts.After, Limit: opts.Limit})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(items, next), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "list-metric-samples", Method: http.MethodGet, Path: "/metrics/series/{id}/samples", Tags: tags,
		Summary: "Samples of a series", Description: "Those in [from, to), oldest first; default the last 24 hours; at most 20,000.",
	}, func(ctx context.Context, in *struct {
		ID    uuid.UUID `path:"id"`
		From  time.Time `query:"from" doc:"RFC 3339; default 24 hours before to"`
		To    time.Time `query:"to" doc:"RFC 3339; default now"`
		Limit int       `query:"limit" minimum:"0" maximum:"20000" doc:"default 20000"`
	}) (*PageOutput[metric.Sample], error) {
		out, err := svc.Samples(ctx, in.ID, in.From, in.To, in.Limit)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "forecast-chart", Method: http.MethodGet, Path: "/forecast-rules/{name}/chart.svg", Tags: tags,
		Summary:     "Chart of a forecast rule over one series",
		Description: "An SVG image: the history the rule looks at, the forecast with its confidence band, the threshold and the crossing.",
		Responses: map[string]*huma.Response{"200": {Description: "SVG image", Content: map[string]*huma.MediaType{
			"image/svg+xml": {Schema: &huma.Schema{Type: "string"}}}}},
	}, func(ctx context.Context, in *struct {
		NameParam
		Series uuid.UUID `query:"series" doc:"the series id (GET /metrics/series); default the first series the rule matches"`
		Width  int       `query:"width" minimum:"0" maximum:"4000"`
		Height int       `query:"height" minimum:"0" maximum:"4000"`
	}) (*ChartOutput, error) {
		svg, err := svc.Chart(ctx, in.Name, in.Series, in.Width, in.Height)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &ChartOutput{ContentType: "image/svg+xml", CacheControl: "private, max-age=60", Body: []byte(svg)}, nil
	})
	huma.Register(a.huma, huma.Operation{
		OperationID: "forecast-rule-status", Method: http.MethodGet, Path: "/forecast-rules/{name}/status", Tags: tags,
		Summary:     "Why a forecast rule does or does not fire",
		Description: "Evaluates the rule now over the series it matches (at most 100) and shows each verdict with the evaluator's state.",
	}, func(ctx context.Context, in *NameParam) (*PageOutput[metric.SeriesStatus], error) {
		out, err := svc.RuleStatus(ctx, in.Name)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return page(out, ""), nil
	})
}

// ChartOutput is an SVG image response.
type ChartOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}
