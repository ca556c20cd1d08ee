package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"groundcrew.dev/groundcrew/internal/errs"
	"groundcrew.dev/groundcrew/internal/identity"
)

// userForm is the user form as typed. The password is never sent back.
type userForm struct {
	Name, DisplayName, Email string
	Role                     identity.Role
	Disabled                 bool
	Revision                 int64
}

var userFields = []string{"name", "display_name", "email", "role", "password"}

func readUserForm(r *http.Request) (userForm, string) {
	f := r.PostForm
	rev, _ := strconv.ParseInt(f.Get("revision"), 10, 64)
	return userForm{Name: strings.TrimSpace(f.Get("name")), DisplayName: strings.TrimSpace(f.Get("display_name")),
		Email: strings.TrimSpace(f.Get("email")), Role: identity.Role(f.Get("role")), Disabled: f.Get("disabled") == "on",
		Revision: rev}, f.Get("password")
}

func (f userForm) input(password string) identity.UserInput {
	return identity.UserInput{Name: f.Name, DisplayName: f.DisplayName, Email: f.Email, Role: f.Role, Disabled: f.Disabled, Password: password}
}

type usersData struct {
	Q         string
	Users     []identity.User
	CanManage bool
	Roles     []identity.Role
	Form      userForm
	Err       formErrors
	pager
}

func (u *UI) listUsers(w http.ResponseWriter, r *http.Request) error {
	return u.renderUsers(w, r, http.StatusOK, userForm{Role: identity.RoleViewer}, formErrors{})
}

func (u *UI) renderUsers(w http.ResponseWriter, r *http.Request, status int, form userForm, fe formErrors) error {
	ctx := r.Context()
	q, after, v := searchQuery(r)
	users, next, err := u.ids.ListUsers(ctx, identity.ListOptions{Query: q, After: after, Limit: listLimit})
	if err != nil {
		return err
	}
	d := usersData{Q: q, Users: users, Roles: identity.Roles, Form: form, Err: fe, pager: newPager("/users", v, after, next),
		CanManage: identity.ActorFrom(ctx).Can(identity.PermManageUsers, uuid.Nil)}
	u.render(w, r, status, "users", "Users", d)
	return nil
}

// createUser creates a user with a password and a role (admins).
func (u *UI) createUser(w http.ResponseWriter, r *http.Request) error {
	f, password := readUserForm(r)
	var err error
	if password == "" {
		err = errs.Invalidf("password", "is required: the person logs in with it")
	} else {
		_, err = u.ids.CreateUser(r.Context(), f.input(password))
	}
	switch code := errs.CodeOf(err); code {
	case "":
		u.redirect(w, r, "/users/"+url.PathEscape(f.Name), fmt.Sprintf("User %s created.", f.Name))
		return nil
	case errs.Invalid, errs.Conflict:
		return u.renderUsers(w, r, errs.HTTPStatus(code), f, newFormErrors(err, userFields, nil))
	default:
		return err
	}
}

type userData struct {
	U         identity.User
	Self      bool
	CanManage bool
	Roles     []identity.Role
	Form      userForm
	Err       formErrors
}

func (u *UI) showUser(w http.ResponseWriter, r *http.Request) error {
	usr, err := u.ids.GetUser(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	f := userForm{Name: usr.Name, DisplayName: usr.DisplayName, Email: usr.Email, Role: usr.Role, Disabled: usr.Disabled, Revision: usr.Revision}
	return u.renderUser(w, r, http.StatusOK, usr, f, formErrors{})
}

func (u *UI) renderUser(w http.ResponseWriter, r *http.Request, status int, usr identity.User, f userForm, fe formErrors) error {
	a := identity.ActorFrom(r.Context())
	d := userData{U: usr, Self: a.Name == usr.Name, CanManage: a.Can(identity.PermManageUsers, uuid.Nil),
		Roles: identity.Roles, Form: f, Err: fe}
	u.render(w, r, status, "user", usr.Name, d)
	return nil
}

// updateUser changes a user's details, role or status and, when one is
// given, sets a new password (admins), guarded by the form's revision.
func (u *UI) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name := r.PathValue("name")
	f, password := readUserForm(r)
	f.Name = name
	var err error
	if f.Revision <= 0 {
		err = errs.Preconditionf("the form does not say which version of %s it edits; reload and retry", name)
	} else {
		_, err = u.ids.UpdateUser(ctx, name, f.input(password), f.Revision)
	}
	code := errs.CodeOf(err)
	switch code {
	case "":
		u.redirect(w, r, "/users/"+url.PathEscape(name), fmt.Sprintf("User %s saved.", name))
		return nil
	case errs.Invalid, errs.Precondition, errs.Conflict:
	default:
		return err
	}
	usr, gerr := u.ids.GetUser(ctx, name)
	if gerr != nil {
		return gerr
	}
	return u.renderUser(w, r, errs.HTTPStatus(code), usr, f, newFormErrors(err, userFields, nil))
}
