package route_test

import (
	"sync"
	"testing"

	"groundcrew.dev/groundcrew/internal/doccheck"

	"groundcrew.dev/groundcrew/internal/alert/matcher"
	"groundcrew.dev/groundcrew/internal/alert/route"
)

// TestDocComments fails when this package or matcher lacks a package
// comment, or an exported name lacks a doc comment.
func TestDocComments(t *testing.T) {
	for _, dir := range []string{".", "../matcher"} {
		doccheck.Check(t, dir, doccheck.Options{SkipUnexportedReceivers: true})
	}
}

// TestConcurrentReads exercises a Tree, an Inhibitor and Silences from
// several goroutines; run with -race.
func TestConcurrentReads(t *testing.T) {
	tr := testTree(t)
	in, err := route.NewInhibitor([]route.InhibitRule{{
		SourceMatchers: matcher.MustParse(`severity="critical"`), TargetMatchers: matcher.MustParse(`severity=~"warning|info"`), Equal: []string{"team"},
	}}, []map[string]string{labelsOf("severity=critical team=db")})
	if err != nil {
		t.Fatal(err)
	}
	ss := route.Silences{{ID: "s", Matchers: matcher.MustParse(`team="web"`), StartsAt: t0, EndsAt: t0.Add(1e12)}}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				l := labelsOf("team=db severity=warning env=prod")
				ms := tr.Match(l, monday10)
				_ = ms[0].Explain()
				_ = route.GroupKey(ms[0].Node, l)
				if ok, _ := in.Inhibited(l); !ok {
					t.Error("not inhibited")
					return
				}
				_ = ss.Mutes(l, t0)
			}
		}()
	}
	wg.Wait()
}
