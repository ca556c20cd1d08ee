package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"groundcrew.dev/groundcrew/internal/apply"
	"groundcrew.dev/groundcrew/internal/client"
)

func (c *cli) newGetCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "get KIND [NAME...] [-o table|yaml|json]",
		Short: "Print objects of a kind",
		Long: `Print the objects of a kind (any kind the server lists: its name, plural or
an alias, in any case — service, services, svc), or only the named ones.

-o yaml prints documents that apply accepts unchanged, so
  groundcrew get services -o yaml > services.yaml && groundcrew apply -f services.yaml
reports every service unchanged. -o json prints {"items": [documents]}.`,
		Example: `  groundcrew get services
  groundcrew get svc payments-api -o yaml
  groundcrew get teams -o json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "table", "yaml", "json":
			default:
				return fmt.Errorf("-o %s: want table, yaml or json", output)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			kinds, err := cl.Kinds(ctx)
			if err != nil {
				return err
			}
			kind, err := findKind(kinds, args[0])
			if err != nil {
				return err
			}
			docs, err := cl.Export(ctx, kind.Plural)
			if err != nil {
				return err
			}
			docs, missing := selectNames(docs, args[1:])
			for i := range docs {
				docs[i].Source = nil
			}
			switch output {
			case "yaml":
				err = writeYAML(c.stdout, docs)
			case "json":
				err = writeJSON(c.stdout, docs)
			default:
				if len(docs) == 0 && len(missing) == 0 {
					fmt.Fprintf(c.stderr, "No %s found.\n", kind.Plural)
					return nil
				}
				if len(docs) > 0 {
					err = writeTable(c.stdout, kind, docs)
				}
			}
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				return fmt.Errorf("%s not found: %s", kindNoun(kind, len(missing)), quoteAll(missing))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table, yaml or json")
	return cmd
}

// findKind finds the kind called name (its name, plural or an alias, in any
// case) among those the server knows.
func findKind(kinds []client.Kind, name string) (client.Kind, error) {
	var known []string
	for _, k := range kinds {
		if strings.EqualFold(k.Name, name) || strings.EqualFold(k.Plural, name) ||
			slices.ContainsFunc(k.Aliases, func(a string) bool { return strings.EqualFold(a, name) }) {
			return k, nil
		}
		known = append(known, k.Plural)
	}
	return client.Kind{}, fmt.Errorf("unknown kind %q: want one of %s", name, strings.Join(known, ", "))
}

// selectNames returns the documents called names, in the order asked and
// without repeats, and the names that have none; with no names, every
// document.
func selectNames(docs []apply.Document, names []string) (found []apply.Document, missing []string) {
	if len(names) == 0 {
		return docs, nil
	}
	byName := map[string]apply.Document{}
	for _, d := range docs {
		byName[d.Metadata.Name] = d
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		if d, ok := byName[n]; ok {
			found = append(found, d)
		} else {
			missing = append(missing, n)
		}
	}
	return found, missing
}

func kindNoun(k client.Kind, n int) string {
	if n == 1 {
		return strings.ToLower(k.Name)
	}
	return k.Plural
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// writeJSON prints {"items": docs}.
func writeJSON(w io.Writer, docs []apply.Document) error {
	if docs == nil {
		docs = []apply.Document{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Items []apply.Document `json:"items"`
	}{docs})
}

// writeYAML prints docs as a YAML stream that apply accepts unchanged:
// apiVersion, kind, metadata and spec in that order, the fields of metadata
// and spec in the server's order, null fields left out.
func writeYAML(w io.Writer, docs []apply.Document) error {
	if len(docs) == 0 {
		return nil // an encoder without documents fails on Close
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	for _, d := range docs {
		node, err := documentNode(d)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", d.Kind, d.Metadata.Name, err)
		}
		if err := enc.Encode(node); err != nil {
			return err
		}
	}
	return enc.Close()
}

// documentNode turns a document into a YAML node through its JSON form,
// which keeps the order of the fields.
func documentNode(d apply.Document) (*yaml.Node, error) {
	d.Source = nil
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	node, err := jsonNode(dec)
	if err != nil {
		return nil, err
	}
	pruneNull(node)
	return node, nil
}

// jsonNode reads one JSON value from dec as a YAML node.
func jsonNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if t == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, stringNode(k.(string)))
			}
			v, err := jsonNode(dec)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return stringNode(t), nil
	case json.Number:
		tag := "!!float"
		if _, err := t.Int64(); err == nil {
			tag = "!!int"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func stringNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if yaml11Bools[strings.ToLower(s)] {
		// Plain strings in YAML 1.2, which groundcrew reads, but booleans
		// to the YAML 1.1 tools people also edit files with.
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

var yaml11Bools = map[string]bool{"y": true, "yes": true, "n": true, "no": true, "on": true, "off": true}

// pruneNull removes map entries whose value is null. Only null: to Go's
// JSON decoding (and so to apply) it is the same as leaving the field out,
// whereas "", [] and {} may mean something (an empty label value, say).
// Fields the server leaves empty are omitted by the server itself.
func pruneNull(n *yaml.Node) {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			pruneNull(c)
		}
	case yaml.MappingNode:
		var kept []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				continue
			}
			pruneNull(v)
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
}

// writeTable prints NAME and the kind's columns, aligned.
func writeTable(w io.Writer, k client.Kind, docs []apply.Document) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	headers := []string{"NAME"}
	for _, col := range k.Columns {
		headers = append(headers, col.Header)
	}
	fmt.Fprintln(tw, strings.Join(headers, "\t"))
	for _, d := range docs {
		v, err := documentValue(d)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", d.Kind, d.Metadata.Name, err)
		}
		cells := []string{d.Metadata.Name}
		for _, col := range k.Columns {
			cells = append(cells, cell(lookupPath(v, col.Path)))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// documentValue returns a document as plain JSON values, numbers kept as
// written.
func documentValue(d apply.Document) (any, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err = dec.Decode(&v)
	return v, err
}

// lookupPath follows a dotted path ("spec.owner") into v; nil when a step
// is missing.
func lookupPath(v any, path string) any {
	for _, step := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[step]
	}
	return v
}

// cell formats a value for a table: lists joined with ",", maps as
// key=value pairs, nothing as "-".
func cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
	case string:
		s = x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if p := cell(e); p != "-" {
				parts = append(parts, p)
			}
		}
		s = strings.Join(parts, ",")
	case map[string]any:
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, k+"="+cell(x[k]))
		}
		s = strings.Join(parts, ",")
	default:
		s = fmt.Sprint(x)
	}
	// Keep one object on one line, and tabs out of tabwriter's way.
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	return s
}
