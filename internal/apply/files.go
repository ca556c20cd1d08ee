package apply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"groundcrew.dev/groundcrew/internal/errs"
)

// MaxFileBytes bounds one YAML file.
const MaxFileBytes = 8 << 20

// ReadPaths reads every document from the given files and directories
// (recursively: *.yaml, *.yml and *.json), in path order. Each document
// records its file and position for error messages.
func ReadPaths(paths ...string) ([]Document, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				if !d.IsDir() {
					files = append(files, path)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	var docs []Document
	for _, f := range files {
		data, err := readLimited(f)
		if err != nil {
			return nil, err
		}
		d, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, MaxFileBytes>>20)
	}
	return data, nil
}

// Parse reads the YAML (or JSON) documents in data; file names them in
// errors. Empty documents are skipped. Unknown top-level fields are an
// error naming the field.
func Parse(file string, data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for i := 1; ; i++ {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		where := fmt.Sprintf("%s: document %d", file, i)
		if err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("%s: %s", where, strings.TrimPrefix(err.Error(), "yaml: "))}
		}
		if len(node.Content) == 0 || (node.Content[0].Kind == yaml.ScalarNode && node.Content[0].Tag == "!!null") {
			continue
		}
		var v any
		if err := node.Decode(&v); err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("%s: %v", where, err)}
		}
		raw, err := json.Marshal(jsonable(v))
		if err != nil {
			return nil, &errs.Error{Code: errs.Invalid, Message: fmt.Sprintf("%s: %v", where, err)}
		}
		var d Document
		if err := DecodeStrict(raw, &d); err != nil {
			var e *errs.Error
			if errors.As(err, &e) {
				return nil, &errs.Error{Code: errs.Invalid, Where: fmt.Sprintf("%s (line %d)", where, node.Line), Field: e.Field, Message: e.Message}
			}
			return nil, err
		}
		if d.Source != nil {
			return nil, &errs.Error{Code: errs.Invalid, Where: where, Field: "source", Message: `unknown field "source"`}
		}
		d.Source = &Source{File: file, Index: i}
		docs = append(docs, d)
	}
}

// jsonable turns YAML values into values encoding/json accepts (YAML maps
// may have non-string keys).
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	default:
		return v
	}
}
