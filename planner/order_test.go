package planner

import (
	"slices"
	"strings"
	"testing"
)

func TestOrderStepsKeepsReadingOrderWhereDependenciesAllow(t *testing.T) {
	steps := []Step{
		{ID: "swap:prod/web", Kind: Swap, Env: "prod", Role: "web", Pool: "p2", After: []string{"swap:staging/web", "create:p2"}},
		{ID: "create:p2", Kind: Create, Env: "prod", Role: "web", Pool: "p2", After: []string{"bake:local:web:b"}},
		{ID: "bake:local:web:b", Kind: Bake, Image: "web", After: []string{"bake:local:base:a"}},
		{ID: "bake:local:base:a", Kind: Bake, Image: "base"},
		{ID: "swap:staging/web", Kind: Swap, Env: "staging", Role: "web", Pool: "s1"},
		{ID: "prune-image:local:c", Kind: Prune, Image: "old"},
		{ID: "prune:p1", Kind: Prune, Env: "prod", Role: "web", Pool: "p1", After: []string{"swap:prod/web", "swap:prod/web"}},
	}
	rank := map[string]int{"staging": 0, "prod": 1}
	got, err := orderSteps(steps, rank)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	want := []string{"bake:local:base:a", "bake:local:web:b", "swap:staging/web", "create:p2", "swap:prod/web", "prune:p1", "prune-image:local:c"}
	if !slices.Equal(ids, want) {
		t.Errorf("order\n got %v\nwant %v", ids, want)
	}
	if a := got[5].After; !slices.Equal(a, []string{"swap:prod/web"}) {
		t.Errorf("After not deduplicated: %v", a)
	}
}

func TestOrderStepsRejectsCyclesUnknownsAndDuplicates(t *testing.T) {
	for want, steps := range map[string][]Step{
		"in a cycle":        {{ID: "a", After: []string{"b"}}, {ID: "b", After: []string{"a"}}},
		"unknown step zz":   {{ID: "a", After: []string{"zz"}}},
		"two steps with id": {{ID: "a"}, {ID: "a"}},
	} {
		name := want
		if _, err := orderSteps(steps, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
