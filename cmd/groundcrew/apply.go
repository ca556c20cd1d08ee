package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/client"
)

func (c *cli) newApplyCmd() *cobra.Command {
	var files []string
	var dryRun, prune bool
	var set string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR [-f ...] [--dry-run] [--prune] [--set NAME]",
		Short: "Create or update objects from YAML documents",
		Long: `Apply YAML documents (apiVersion, kind, metadata, spec) from files and
directories (recursively: *.yaml, *.yml, *.json); -f - reads standard input.

All documents go to the server in one request and are applied in one
transaction: every document or none. Errors name the file, the document and
the field. --dry-run reports what would change without changing anything.
--prune deletes the objects that an earlier apply of the same --set created
and that the documents no longer name; objects made any other way are never
pruned.`,
		Example: `  groundcrew apply -f catalog/
  groundcrew apply -f catalog/ --prune --dry-run
  groundcrew get services -o yaml | groundcrew apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("nothing to apply: pass -f FILE, -f DIR or -f -")
			}
			docs, err := c.readDocuments(files)
			if err != nil {
				return err
			}
			if len(docs) == 0 {
				return fmt.Errorf("no documents in %s", strings.Join(files, ", "))
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			res, err := cl.Apply(cmd.Context(), docs, dryRun, prune, set)
			if err != nil {
				return locateError(err, docs)
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(c.stderr, "warning:", w)
			}
			suffix := ""
			if res.DryRun {
				suffix = " (dry run)"
			}
			for _, ch := range res.Changes {
				fmt.Fprintf(c.stdout, "%s/%s %s%s\n", strings.ToLower(ch.Kind), ch.Name, ch.Action, suffix)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file or directory of YAML documents; - for standard input (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "report what would change without changing anything")
	cmd.Flags().BoolVar(&prune, "prune", false, "delete objects this --set created earlier that the documents no longer name")
	cmd.Flags().StringVar(&set, "set", "", `the apply set --prune works within (default "default")`)
	return cmd
}

// documentField matches a request-body location inside one document.
var documentField = regexp.MustCompile(`^body\.documents\[(\d+)\]\.?(.*)$`)

// locateError names the file and document of field errors the server
// could only place by index in the request (schema validation runs before
// apply sees the documents' sources).
func locateError(err error, docs []apply.Document) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	var msgs []string
	for _, f := range ce.Fields {
		m := documentField.FindStringSubmatch(f.Location)
		if m == nil || strings.Contains(f.Message, "documents[") {
			return err // not placed by index only, or placed already
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(docs) {
			return err
		}
		d := docs[i]
		where := fmt.Sprintf("document %d (%s/%s)", i+1, d.Kind, d.Metadata.Name)
		if d.Source != nil {
			where = fmt.Sprintf("%s: document %d (%s/%s)", d.Source.File, d.Source.Index, d.Kind, d.Metadata.Name)
		}
		if m[2] != "" {
			where += ": " + m[2]
		}
		msgs = append(msgs, where+": "+f.Message)
	}
	if len(msgs) == 0 {
		return err
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// readDocuments reads the documents of every -f argument, in order.
func (c *cli) readDocuments(paths []string) ([]apply.Document, error) {
	var docs []apply.Document
	stdinRead := false
	for _, p := range paths {
		if p != "-" {
			d, err := apply.ReadPaths(p)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		if stdinRead {
			return nil, errors.New("-f - given twice: standard input can be read only once")
		}
		stdinRead = true
		data, err := io.ReadAll(io.LimitReader(c.stdin, apply.MaxFileBytes+1))
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		if len(data) > apply.MaxFileBytes {
			return nil, fmt.Errorf("standard input: larger than %d MiB", apply.MaxFileBytes>>20)
		}
		d, err := apply.Parse("<stdin>", data)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}
