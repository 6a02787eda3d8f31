package planner

import (
	"strconv"
	"strings"
)

// explain puts what moved in the spec (why's answer for the endpoint,
// e.g. `config VERSION "1" → "2"`) into the reasons of the endpoint's
// steps, so that the plan itself carries the reason a person reviews and
// every rendering and a saved plan say the same. A create says the change
// instead of only that no live pool matches; the swap that puts the new
// pool in service then needs no words beyond its canary steps; a rollback
// swap says what it undoes. An empty answer leaves the planner's reasons.
func (e *endpointPlan) explain(why func(env, role string) string) {
	if why == nil || e.swap == nil {
		return
	}
	r := why(e.summary.Env, e.summary.Role)
	switch {
	case r == "":
	case e.create != nil:
		e.create.Reason = r
		e.swap.Reason = canaryNote(e.swap.Weights)
		if e.swap.MoveFrom != "" { // a move is said in every rendering
			e.swap.Reason = strings.TrimPrefix(e.swap.Reason+"; "+moveReason(e.swap.MoveFrom, e.swap.Endpoint), "; ")
		}
	case e.swap.Rollback:
		e.swap.Reason += "; " + r
	}
}

// canaryNote names a canary's traffic steps ("canary 25% → 50% → 100%");
// a blue-green swap needs no words.
func canaryNote(weights []int) string {
	if len(weights) == 0 {
		return ""
	}
	parts := make([]string, len(weights))
	for i, w := range weights {
		parts[i] = strconv.Itoa(w) + "%"
	}
	return "canary " + strings.Join(parts, " → ")
}
