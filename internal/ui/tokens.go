package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// expiryChoice is one lifetime offered for a new API token.
type expiryChoice struct {
	Value, Label string
}

var expiryChoices = []expiryChoice{
	{"7d", "7 days"}, {"30d", "30 days"}, {"90d", "90 days"}, {"180d", "180 days"}, {"365d", "1 year"},
}

const defaultExpiry = "90d"

// tokenRow is a token as the account page lists it.
type tokenRow struct {
	identity.Token
	Status string // active, expired or revoked
}

type tokenForm struct {
	Name    string
	Scope   identity.Scope
	Expires string
}

type accountData struct {
	User      identity.User
	Tokens    []tokenRow
	Secret    string         // a token's secret, only right after its creation
	Created   identity.Token // the token Secret belongs to
	Form      tokenForm
	TokenErr  formErrors
	PassErr   formErrors
	Expiries  []expiryChoice
	MinPasswd int
}

// account shows the current user, their API tokens and the password form.
func (u *UI) account(w http.ResponseWriter, r *http.Request) error {
	return u.renderAccount(w, r, http.StatusOK, accountData{Form: tokenForm{Scope: identity.ScopeRead, Expires: defaultExpiry}})
}

func (u *UI) renderAccount(w http.ResponseWriter, r *http.Request, status int, d accountData) error {
	ctx := r.Context()
	var err error
	if d.User, err = u.ids.GetUser(ctx, identity.ActorFrom(ctx).Name); err != nil {
		return err
	}
	toks, err := u.ids.ListTokens(ctx)
	if err != nil {
		return err
	}
	now := u.clock.Now()
	for _, t := range toks {
		row := tokenRow{Token: t, Status: "active"}
		switch {
		case t.RevokedAt != nil:
			row.Status = "revoked"
		case t.ExpiresAt != nil && !t.ExpiresAt.After(now):
			row.Status = "expired"
		}
		d.Tokens = append(d.Tokens, row)
	}
	d.Expiries, d.MinPasswd = expiryChoices, identity.MinPasswordLength
	u.render(w, r, status, "account", "Your account", d)
	return nil
}

// createToken creates an API token and shows its secret, this once: the
// page is the response to the form, never a redirect, so the secret is in
// no URL and no cookie.
func (u *UI) createToken(w http.ResponseWriter, r *http.Request) error {
	f := tokenForm{Name: strings.TrimSpace(r.PostFormValue("name")), Scope: identity.Scope(r.PostFormValue("scope")),
		Expires: r.PostFormValue("expires")}
	d := accountData{Form: f}
	exp, err := parseExpiryDays(f.Expires)
	if err == nil {
		d.Created, d.Secret, err = u.ids.CreateToken(r.Context(), identity.TokenInput{Name: f.Name, Scope: f.Scope, ExpiresIn: exp})
	}
	switch code := errs.CodeOf(err); code {
	case "":
		d.Form = tokenForm{Scope: identity.ScopeRead, Expires: defaultExpiry}
		return u.renderAccount(w, r, http.StatusCreated, d)
	case errs.Invalid, errs.Forbidden:
		d.TokenErr = newFormErrors(err, []string{"name", "scope", "expires"}, map[string]string{"expires_in": "expires"})
		return u.renderAccount(w, r, errs.HTTPStatus(code), d)
	default:
		return err
	}
}

func parseExpiryDays(s string) (time.Duration, error) {
	for _, c := range expiryChoices {
		if c.Value == s {
			days, _ := strconv.Atoi(strings.TrimSuffix(s, "d"))
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	return 0, errs.Invalidf("expires", "choose one of the offered lifetimes")
}

func (u *UI) revokeToken(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := u.ids.RevokeToken(r.Context(), name); err != nil {
		return err
	}
	u.redirect(w, r, "/account#tokens", fmt.Sprintf("Token %s revoked.", name))
	return nil
}

// changePassword sets the current user's password; they must know the
// current one.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request) error {
	current, next := r.PostFormValue("current_password"), r.PostFormValue("new_password")
	var err error
	if next != r.PostFormValue("confirm_password") {
		err = errs.Invalidf("confirm_password", "does not match the new password")
	} else {
		err = u.ids.ChangePassword(r.Context(), current, next)
	}
	switch code := errs.CodeOf(err); code {
	case "":
		u.redirect(w, r, "/account", "Password changed.")
		return nil
	case errs.Invalid, errs.Forbidden:
		d := accountData{Form: tokenForm{Scope: identity.ScopeRead, Expires: defaultExpiry}}
		d.PassErr = newFormErrors(err, []string{"current_password", "new_password", "confirm_password"},
			map[string]string{"password": "new_password"})
		return u.renderAccount(w, r, errs.HTTPStatus(code), d)
	default:
		return err
	}
}
