package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/client"
	"groundcrew.dev/groundcrew/internal/incident"
)

// when formats an instant in the local time zone.
func when(t time.Time) string { return t.Local().Format("2006-01-02 15:04 MST") }

// incidentArg reads "INC-7" or "7".
func incidentArg(s string) (int64, error) {
	n, err := incident.ParseKey(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an incident: give its number, e.g. 7 or INC-7", s)
	}
	return n, nil
}

// printIncident writes an incident's summary lines.
func printIncident(w io.Writer, in incident.Incident) {
	fmt.Fprintf(w, "%s  %s  %s  %s\n", in.Key, in.Severity, in.Status, in.Title)
	fmt.Fprintf(w, "Declared  %s by %s (source %s%s)\n", when(in.DeclaredAt), in.DeclaredBy, in.Source.Kind, prefixIf(" ", in.Source.Ref))
	for _, t := range []struct {
		what string
		at   *time.Time
	}{{"Acknowledged", in.AcknowledgedAt}, {"Mitigated", in.MitigatedAt}, {"Resolved", in.ResolvedAt}} {
		if t.at != nil {
			fmt.Fprintf(w, "%-9s %s (after %s)\n", t.what, when(*t.at), t.at.Sub(in.DeclaredAt).Round(time.Second))
		}
	}
	var roles []string
	for _, r := range in.Roles {
		roles = append(roles, r.Role+"="+r.User)
	}
	fmt.Fprintf(w, "Roles     %s\n", strings.Join(roles, ", "))
	if len(in.Services) > 0 {
		var svcs []string
		for _, a := range in.Services {
			if a.Owner != "" {
				svcs = append(svcs, a.Name+" (team "+a.Owner+")")
			} else {
				svcs = append(svcs, a.Name)
			}
		}
		fmt.Fprintf(w, "Services  %s\n", strings.Join(svcs, ", "))
	}
	if in.Summary != "" {
		fmt.Fprintf(w, "Summary   %s\n", in.Summary)
	}
}

func prefixIf(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// dueDate reads --due: a date (2026-12-31) or days from today (14d),
// returned as YYYY-MM-DD.
func dueDate(s string) (string, error) {
	if days, ok := strings.CutSuffix(strings.TrimPrefix(s, "+"), "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3660 {
			return "", fmt.Errorf("--due %q: want a date such as 2026-12-31 or days from today such as 14d", s)
		}
		return now().AddDate(0, 0, n).Format("2006-01-02"), nil
	}
	return s, nil
}

// incidentClient reads the incident argument and connects to the server.
func (c *cli) incidentClient(arg string) (int64, *client.Client, error) {
	n, err := incidentArg(arg)
	if err != nil {
		return 0, nil, err
	}
	cl, err := c.client()
	return n, cl, err
}

func (c *cli) newIncidentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "incident",
		Aliases: []string{"incidents", "inc"},
		Short:   "Declare and run incidents, post status updates, write postmortems",
		Long:    "Incident command: declare an incident, change its status and severity, hand out roles, take notes on its timeline,\npost to status pages, resolve it and write the postmortem. See docs/incidents.md.",
		Example: `  groundcrew incident declare --title "Checkout fails" --severity SEV2 --service payments-api
  groundcrew incident update INC-1 --status identified --message "bad deploy of 14:02"
  groundcrew incident note 1 "rolling back to 1.41"
  groundcrew incident resolve 1 --summary "Rolled back 1.42; payments recovered at 14:40."
  groundcrew incident postmortem 1 --create`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(c.newIncidentDeclareCmd(), c.newIncidentListCmd(), c.newIncidentShowCmd(), c.newIncidentUpdateCmd(),
		c.newIncidentNoteCmd(), c.newIncidentRoleCmd(), c.newIncidentResolveCmd(), c.newIncidentStatusUpdateCmd(),
		c.newIncidentPostmortemCmd(), c.newActionItemCmd())
	return cmd
}

func (c *cli) newIncidentDeclareCmd() *cobra.Command {
	var in incident.DeclareInput
	var sev string
	cmd := &cobra.Command{
		Use:   "declare --title T --severity SEV1..SEV4 [--service S]... [--lead USER]",
		Short: "Declare an incident (you lead it unless --lead names someone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in.Severity = incident.Severity(strings.ToUpper(sev))
			cl, err := c.client()
			if err != nil {
				return err
			}
			inc, err := cl.DeclareIncident(cmd.Context(), in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Declared %s (%s): %s; lead %s\n", inc.Key, inc.Severity, inc.Title, inc.Lead)
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Title, "title", "", "what is wrong, in a line (required)")
	cmd.Flags().StringVar(&sev, "severity", "", "SEV1 (critical) … SEV4 (minor) (required)")
	cmd.Flags().StringArrayVar(&in.Services, "service", nil, "an affected catalog service (repeat for more)")
	cmd.Flags().StringVar(&in.Lead, "lead", "", "the incident lead (default you)")
	cmd.Flags().StringVar(&in.Summary, "summary", "", "what is known so far")
	cmd.Flags().StringVar(&in.Message, "message", "", "a first note for the timeline")
	cmd.Flags().StringVar(&in.AlertID, "alert", "", "declare from this alert (its id)")
	cmd.Flags().StringVar(&in.TicketRef, "ticket", "", "declare from this ticket (a reference)")
	return cmd
}

func (c *cli) newIncidentListCmd() *cobra.Command {
	var f incident.Filter
	var sev string
	cmd := &cobra.Command{
		Use:   "list [--status open|investigating|identified|monitoring|resolved] [--severity SEV2] [--service S] [--team T]",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.Severity = incident.Severity(strings.ToUpper(sev))
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.ListIncidents(cmd.Context(), f)
			if err != nil {
				return err
			}
			if len(list) == 0 {
				fmt.Fprintln(c.stderr, "No incidents.")
				return nil
			}
			w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "INCIDENT\tSEVERITY\tSTATUS\tLEAD\tDECLARED\tTITLE")
			for _, in := range list {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Key, in.Severity, in.Status, in.Lead, when(in.DeclaredAt), in.Title)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&f.Status, "status", "", "open (not resolved), or one status")
	cmd.Flags().StringVar(&sev, "severity", "", "only this severity")
	cmd.Flags().StringVar(&f.Service, "service", "", "only incidents affecting this service")
	cmd.Flags().StringVar(&f.Team, "team", "", "only incidents affecting a service this team owns")
	cmd.Flags().IntVar(&f.Limit, "limit", 100, "at most this many")
	return cmd
}

func (c *cli) newIncidentShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show INCIDENT",
		Short: "Show an incident with its timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			in, err := cl.GetIncident(cmd.Context(), n)
			if err != nil {
				return err
			}
			tl, err := cl.IncidentTimeline(cmd.Context(), n)
			if err != nil {
				return err
			}
			printIncident(c.stdout, in)
			fmt.Fprintln(c.stdout, "\nTimeline")
			w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			for _, e := range tl {
				fmt.Fprintf(w, "  %s\t%s\t%s\n", when(e.At), e.Actor, e.Text)
			}
			return w.Flush()
		},
	}
}

func (c *cli) newIncidentUpdateCmd() *cobra.Command {
	var in incident.UpdateInput
	var sev, status string
	cmd := &cobra.Command{
		Use:   "update INCIDENT [--status S --message M] [--severity SEV1] [--title T] [--summary S]",
		Short: "Change an incident's status, severity, title or summary",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			in.Severity, in.Status = incident.Severity(strings.ToUpper(sev)), incident.Status(status)
			inc, err := cl.UpdateIncident(cmd.Context(), n, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s  %s  %s  %s\n", inc.Key, inc.Severity, inc.Status, inc.Title)
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "investigating, identified, monitoring or resolved")
	cmd.Flags().StringVar(&in.Message, "message", "", "why: recorded with the status or severity change")
	cmd.Flags().StringVar(&sev, "severity", "", "SEV1 … SEV4")
	cmd.Flags().StringVar(&in.Title, "title", "", "a new title")
	cmd.Flags().StringVar(&in.Summary, "summary", "", "what happened (required to resolve)")
	return cmd
}

func (c *cli) newIncidentResolveCmd() *cobra.Command {
	var in incident.UpdateInput
	cmd := &cobra.Command{
		Use:   "resolve INCIDENT --summary S [--message M]",
		Short: "Resolve an incident: say what happened",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			in.Status = incident.Resolved
			inc, err := cl.UpdateIncident(cmd.Context(), n, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Resolved %s after %s\n", inc.Key, inc.ResolvedAt.Sub(inc.DeclaredAt).Round(time.Second))
			return nil
		},
	}
	cmd.Flags().StringVar(&in.Summary, "summary", "", "what happened and what fixed it (required unless the incident has one)")
	cmd.Flags().StringVar(&in.Message, "message", "", "a last word for the timeline")
	return cmd
}

func (c *cli) newIncidentNoteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "note INCIDENT TEXT...",
		Short: "Add a note to an incident's timeline",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			e, err := cl.AddIncidentNote(cmd.Context(), n, strings.Join(args[1:], " "))
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s  %s  %s\n", when(e.At), e.Actor, e.Text)
			return nil
		},
	}
}

func (c *cli) newIncidentRoleCmd() *cobra.Command {
	var unassign bool
	cmd := &cobra.Command{
		Use:   "role INCIDENT ROLE [USER | --unassign]",
		Short: "Give a role (lead, communications, scribe, or your own) to someone, or free it",
		Example: `  groundcrew incident role 1 lead ana
  groundcrew incident role 1 communications olga
  groundcrew incident role 1 scribe --unassign`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			if unassign == (len(args) == 3) {
				return fmt.Errorf("give a USER to assign, or --unassign")
			}
			var inc incident.Incident
			if unassign {
				inc, err = cl.UnassignIncidentRole(cmd.Context(), n, args[1])
			} else {
				inc, err = cl.AssignIncidentRole(cmd.Context(), n, args[1], args[2])
			}
			if err != nil {
				return err
			}
			var roles []string
			for _, r := range inc.Roles {
				roles = append(roles, r.Role+"="+r.User)
			}
			fmt.Fprintf(c.stdout, "%s roles: %s\n", inc.Key, strings.Join(roles, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&unassign, "unassign", false, "free the role (the lead can only be handed over)")
	return cmd
}

func (c *cli) newIncidentStatusUpdateCmd() *cobra.Command {
	var in incident.StatusUpdateInput
	var status string
	cmd := &cobra.Command{
		Use:   "status-update INCIDENT --page P... --message M [--status S] [--component C]...",
		Short: "Post a status update about an incident to public status pages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			in.Status = incident.Status(status)
			if err := cl.PostIncidentStatusUpdate(cmd.Context(), n, in); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Posted to %s\n", strings.Join(in.Pages, ", "))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&in.Pages, "page", nil, "a status page (repeat for more)")
	cmd.Flags().StringVar(&in.Message, "message", "", "what the public reads")
	cmd.Flags().StringVar(&status, "status", "", "the public status (default the incident's)")
	cmd.Flags().StringVar(&in.Title, "title", "", "the public title of a new notice (default the incident's title)")
	cmd.Flags().StringArrayVar(&in.Components, "component", nil, "an affected component of the pages (repeat for more)")
	return cmd
}

func (c *cli) newIncidentPostmortemCmd() *cobra.Command {
	var create bool
	var status string
	fields := map[string]*string{}
	cmd := &cobra.Command{
		Use:   "postmortem INCIDENT [--create] [--status draft|in_review|approved] [--root-causes T] …",
		Short: "Print an incident's postmortem; create or change it",
		Long: "Prints the postmortem as Markdown. --create makes it from the template prefilled from the incident (summary, impact,\n" +
			"timeline); the other flags change a section or the review status (draft → in_review → approved).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			var in incident.PostmortemInput
			changed := create
			for name, dst := range map[string]**string{"summary": &in.Summary, "impact": &in.Impact, "root-causes": &in.RootCauses,
				"went-well": &in.WentWell, "went-wrong": &in.WentWrong, "lessons": &in.Lessons} {
				if cmd.Flags().Changed(name) {
					*dst, changed = fields[name], true
				}
			}
			if status != "" {
				st := incident.ReviewStatus(status)
				in.Status, changed = &st, true
			}
			var pm incident.Postmortem
			if changed {
				pm, err = cl.PutPostmortem(cmd.Context(), n, in)
			} else {
				pm, err = cl.GetPostmortem(cmd.Context(), n)
				if client.IsNotFound(err) {
					return fmt.Errorf("%w (create it with groundcrew incident postmortem %d --create)", err, n)
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprint(c.stdout, pm.Markdown())
			return nil
		},
	}
	cmd.Flags().BoolVar(&create, "create", false, "create it from the template if there is none")
	cmd.Flags().StringVar(&status, "status", "", "review status: draft, in_review or approved")
	for name, usage := range map[string]string{"summary": "the summary", "impact": "the impact", "root-causes": "the root causes",
		"went-well": "what went well", "went-wrong": "what went wrong", "lessons": "the lessons"} {
		fields[name] = new(string)
		cmd.Flags().StringVar(fields[name], name, "", "set "+usage)
	}
	return cmd
}

func (c *cli) newActionItemCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "action-item",
		Aliases: []string{"action-items"},
		Short:   "Add, close and list postmortem action items",
		Args:    cobra.NoArgs,
	}
	var in incident.ActionItemInput
	add := &cobra.Command{
		Use:   "add INCIDENT --title T --team TEAM --due YYYY-MM-DD|14d",
		Short: "Add an action item to an incident's postmortem",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, cl, err := c.incidentClient(args[0])
			if err != nil {
				return err
			}
			if in.Due, err = dueDate(in.Due); err != nil {
				return err
			}
			item, err := cl.AddActionItem(cmd.Context(), n, in)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Added %s to %s: %s (team %s, due %s)\n", item.ID, item.IncidentKey, item.Title, item.Team, item.Due)
			return nil
		},
	}
	add.Flags().StringVar(&in.Title, "title", "", "what to do (required)")
	add.Flags().StringVar(&in.Team, "team", "", "the owning team (required)")
	add.Flags().StringVar(&in.Due, "due", "", "the due date, YYYY-MM-DD, or days from today such as 14d (required)")
	done := &cobra.Command{
		Use:   "done ID",
		Short: "Mark an action item done",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			item, err := cl.UpdateActionItem(cmd.Context(), args[0], incident.ActionItemUpdate{Status: incident.ActionDone})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "Done: %s (%s)\n", item.Title, item.IncidentKey)
			return nil
		},
	}
	var team, status string
	var overdue bool
	list := &cobra.Command{
		Use:   "list [--team T] [--status open|done] [--overdue]",
		Short: "List action items across incidents, by due date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			items, err := cl.ListActionItems(cmd.Context(), team, status, overdue)
			if err != nil {
				return err
			}
			if len(items) == 0 {
				fmt.Fprintln(c.stderr, "No action items.")
				return nil
			}
			w := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "DUE\tSTATUS\tTEAM\tINCIDENT\tTITLE\tID")
			for _, a := range items {
				st := a.Status
				if a.Overdue {
					st = "overdue"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Due, st, a.Team, a.IncidentKey, a.Title, a.ID)
			}
			return w.Flush()
		},
	}
	list.Flags().StringVar(&team, "team", "", "only this team's")
	list.Flags().StringVar(&status, "status", "", "open or done")
	list.Flags().BoolVar(&overdue, "overdue", false, "only open items past their due date")
	cmd.AddCommand(add, done, list)
	return cmd
}
