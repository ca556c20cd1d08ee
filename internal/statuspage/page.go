// Package statuspage is groundcrew's public face: status pages that show
// chosen catalog services, grouped into components, to people without an
// account — each component's status from its checks, 90 days of uptime,
// and the incident and maintenance notices operators post — and SVG badges
// for the checks those pages show.
//
// Pages and notices are managed through the Service, which authorizes and
// audits like every domain service. The public side (Handler) needs no
// login: it shows only what a page shows — component names, status words,
// uptime and notices — never check names, targets or failure reasons. It
// computes each page at most once per CacheTTL and lets browsers and
// proxies cache it too.
package statuspage

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
	"groundcrew.dev/groundcrew/internal/names"
)

// Limits on a page's definition.
const (
	MaxComponents        = 50
	MaxComponentServices = 50
	MaxComponentChecks   = 100
)

// Component is one line of a status page: what the public sees as one
// thing ("API", "Checkout"), made of catalog services and their checks.
type Component struct {
	Name        string `json:"name" doc:"unique on the page; notices name affected components by it"`
	DisplayName string `json:"display_name,omitempty" doc:"what the public sees; default the name"`
	Description string `json:"description,omitempty"`
	// Services are the catalog services the component stands for.
	Services []string `json:"services" doc:"catalog services the component stands for"`
	// Checks, when given, narrow the component to these checks of its
	// services; otherwise every check of the services counts.
	Checks []string `json:"checks,omitempty" doc:"only these checks of the services (default: all of their checks)"`
}

// Title returns what the public sees as the component's name.
func (c Component) Title() string {
	if c.DisplayName != "" {
		return c.DisplayName
	}
	return c.Name
}

// Spec is the writable part of a status page.
type Spec struct {
	Title       string      `json:"title" doc:"shown as the page's heading and in the browser tab"`
	LogoText    string      `json:"logo_text,omitempty" doc:"short word mark shown at the top; default the title"`
	Description string      `json:"description,omitempty"`
	Components  []Component `json:"components" doc:"in the order they are shown"`
}

// Page is a status page, served at /status/{name}.
type Page struct {
	ID     uuid.UUID         `json:"id"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
	Origin    string    `json:"origin,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PageInput creates or replaces a status page.
type PageInput struct {
	Name   string            `json:"name,omitempty" doc:"the page's path: /status/{name}; required on create, fixed afterwards"`
	Labels map[string]string `json:"labels,omitempty"`
	Spec
}

// Validate reports the first invalid field and normalizes the spec:
// services and checks of each component sorted and without duplicates.
// It does not look up references; the service does.
func (in *PageInput) Validate() error {
	if err := names.Check("name", in.Name); err != nil {
		return err
	}
	if err := identity.CheckLabels("labels", in.Labels); err != nil {
		return err
	}
	return in.Spec.validate()
}

func (s *Spec) validate() error {
	if err := checkLine("title", s.Title, 200, true); err != nil {
		return err
	}
	if err := checkLine("logo_text", s.LogoText, 40, false); err != nil {
		return err
	}
	if err := checkText("description", s.Description, 2000); err != nil {
		return err
	}
	if len(s.Components) == 0 {
		return errs.Invalidf("components", "a page needs at least one component")
	}
	if len(s.Components) > MaxComponents {
		return errs.Invalidf("components", "at most %d components", MaxComponents)
	}
	seen := map[string]int{}
	for i := range s.Components {
		c := &s.Components[i]
		field := fmt.Sprintf("components[%d]", i)
		if err := names.Check(field+".name", c.Name); err != nil {
			return err
		}
		if j, dup := seen[c.Name]; dup {
			return errs.Invalidf(field+".name", "%q is also the name of components[%d]", c.Name, j)
		}
		seen[c.Name] = i
		if err := checkLine(field+".display_name", c.DisplayName, 200, false); err != nil {
			return err
		}
		if err := checkText(field+".description", c.Description, 1000); err != nil {
			return err
		}
		if len(c.Services) == 0 {
			return errs.Invalidf(field+".services", "a component needs at least one service")
		}
		if len(c.Services) > MaxComponentServices {
			return errs.Invalidf(field+".services", "at most %d services", MaxComponentServices)
		}
		if len(c.Checks) > MaxComponentChecks {
			return errs.Invalidf(field+".checks", "at most %d checks", MaxComponentChecks)
		}
		var err error
		if c.Services, err = sortedNames(field+".services", c.Services); err != nil {
			return err
		}
		if c.Checks, err = sortedNames(field+".checks", c.Checks); err != nil {
			return err
		}
		if len(c.Checks) == 0 {
			c.Checks = nil
		}
	}
	return nil
}

// sortedNames validates a list of names and returns it sorted without
// duplicates; errors name the element by its position as given.
func sortedNames(field string, list []string) ([]string, error) {
	for i, n := range list {
		if err := names.Check(fmt.Sprintf("%s[%d]", field, i), n); err != nil {
			return nil, err
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(list))), nil
}

// checkLine validates a one-line text field.
func checkLine(field, s string, max int, required bool) error {
	if required && s == "" {
		return errs.Invalidf(field, "is required")
	}
	if err := checkText(field, s, max); err != nil {
		return err
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return errs.Invalidf(field, "must be one line without control characters")
		}
	}
	return nil
}

func checkText(field, s string, max int) error {
	if len(s) > max {
		return errs.Invalidf(field, "must be at most %d characters", max)
	}
	return nil
}

// sameSpec reports whether two normalized specs are equal.
func sameSpec(a, b Spec) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
