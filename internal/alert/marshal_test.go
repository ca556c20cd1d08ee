package alert

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestMarshalMap(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"summary": "disk full"},
		{"b": "2", "a": "1", "c": `quote " backslash \ tab 	 newline
`},
		{"html": "<a href='x'>&amp;</a>", "unicode": "température é ☃ \u2028 \u2029", "ctl": "\x01\x7f", "bad": "\xff\xfe"},
	} {
		want := "{}"
		if len(m) > 0 {
			b, _ := json.Marshal(m)
			want = string(b)
		}
		if got := marshalMap(m); got != want {
			t.Errorf("marshalMap(%q) = %s, want %s", m, got, want)
		}
	}
}

// FuzzMarshalMap checks that marshalMap writes what json.Marshal writes
// for any annotations a sender may send: ingestion compares the text with
// what is stored.
func FuzzMarshalMap(f *testing.F) {
	f.Add("summary", "disk full", "x<y", "\u2028\xff")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		m := map[string]string{k1: v1, k2: v2}
		b, _ := json.Marshal(m)
		if got := marshalMap(m); got != string(b) {
			t.Fatalf("marshalMap(%q) = %s, want %s", m, got, b)
		}
	})
}

func TestChunkSizes(t *testing.T) {
	for _, c := range []struct {
		n, limit int
		want     []int
	}{{0, 64, nil}, {1, 64, []int{1}}, {100, 64, []int{64, 32, 4}}, {300, 256, []int{256, 32, 8, 4}}, {64, 64, []int{64}}} {
		if got := chunkSizes(c.n, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("chunkSizes(%d, %d) = %v, want %v", c.n, c.limit, got, c.want)
		}
	}
	if got := padIn([]string{"a", "b", "c"}); len(got) != 4 || got[3] != "c" {
		t.Errorf("padIn = %v", got)
	}
}
