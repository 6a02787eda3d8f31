package plantest

import (
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
)

func TestCanaryBackendsShareTheRestInProportion(t *testing.T) {
	for _, tc := range []struct {
		w    int
		from []cloud.Backend
		want []cloud.Backend
	}{
		{10, []cloud.Backend{{Pool: "old", Weight: 100}}, []cloud.Backend{{Pool: "new", Weight: 10}, {Pool: "old", Weight: 90}}},
		// A canary cut short at 25%: the new pool's old share is not counted twice.
		{50, []cloud.Backend{{Pool: "old", Weight: 75}, {Pool: "new", Weight: 25}}, []cloud.Backend{{Pool: "new", Weight: 50}, {Pool: "old", Weight: 50}}},
		// Two old pools keep their proportion; rounding goes to the first.
		{25, []cloud.Backend{{Pool: "a", Weight: 50}, {Pool: "b", Weight: 50}}, []cloud.Backend{{Pool: "new", Weight: 25}, {Pool: "a", Weight: 38}, {Pool: "b", Weight: 37}}},
		// Nothing to share with: all at once.
		{10, nil, []cloud.Backend{{Pool: "new", Weight: 100}}},
	} {
		got := CanaryBackends("new", tc.w, tc.from)
		if !slices.Equal(got, tc.want) {
			t.Errorf("CanaryBackends(%d, %v) = %v, want %v", tc.w, tc.from, got, tc.want)
		}
		sum := 0
		for _, b := range got {
			sum += b.Weight
		}
		if sum != 100 {
			t.Errorf("weights %v sum to %d", got, sum)
		}
	}
}
