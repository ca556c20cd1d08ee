package ui

import (
	"net/http"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

type loginData struct {
	User  string
	Next  string
	Error string
}

// loginPage shows the login form, or goes on to next for a live session.
func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) error {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := u.sessionActor(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	u.render(w, r, http.StatusOK, "login", "Log in", loginData{Next: next})
	return nil
}

// login checks the credentials (the identity service throttles repeated
// failures) and opens a session.
func (u *UI) login(w http.ResponseWriter, r *http.Request) error {
	name, password := r.PostFormValue("user"), r.PostFormValue("password")
	next := localPath(r.PostFormValue("next"))
	secret, _, err := u.ids.Login(r.Context(), name, password, clientAddr(r))
	if err != nil {
		code := errs.CodeOf(err)
		if code == errs.Internal {
			return err
		}
		u.render(w, r, errs.HTTPStatus(code), "login", "Log in", loginData{User: name, Next: next, Error: errs.MessageOf(err)})
		return nil
	}
	u.setCookie(w, identity.SessionCookie, secret, 0)
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// logout ends the session and forgets the cookie.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(identity.SessionCookie); err == nil && c.Value != "" {
		if err := u.ids.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	u.clearCookie(w, identity.SessionCookie)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type setupData struct {
	Token string
	Valid bool
	Err   formErrors
}

// setupPage shows the first-run form that chooses the admin password.
func (u *UI) setupPage(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	d := setupData{Token: token, Valid: token != "" && u.ids.SetupValid(r.Context(), token)}
	status := http.StatusOK
	if !d.Valid {
		status = http.StatusForbidden
	}
	u.render(w, r, status, "setup", "Set up groundcrew", d)
	return nil
}

// setup creates the administrator from a setup link and logs them in.
func (u *UI) setup(w http.ResponseWriter, r *http.Request) error {
	d := setupData{Token: r.PostFormValue("token"), Valid: true}
	password := r.PostFormValue("password")
	var err error
	if password != r.PostFormValue("confirm") {
		err = errs.Invalidf("confirm", "does not match the password")
	}
	var secret string
	if err == nil {
		secret, err = u.ids.CompleteSetup(r.Context(), d.Token, password, clientAddr(r))
	}
	switch code := errs.CodeOf(err); code {
	case "":
		u.setCookie(w, identity.SessionCookie, secret, 0)
		u.redirect(w, r, "/", "Welcome: you are logged in as "+identity.AdminName+".")
		return nil
	case errs.Invalid:
		d.Err = newFormErrors(err, []string{"password", "confirm"}, nil)
		u.render(w, r, errs.HTTPStatus(code), "setup", "Set up groundcrew", d)
		return nil
	case errs.Forbidden, errs.Conflict:
		d.Valid = false
		u.render(w, r, errs.HTTPStatus(code), "setup", "Set up groundcrew", d)
		return nil
	default:
		return err
	}
}
