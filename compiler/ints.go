package compiler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
)

// CUE's integers have no bound, Go's do: a count of 99999999999999999999
// is a valid CUE int that no int of the model holds. encoding/json fails
// on it without saying where, so before giving up on a value the decoder
// looks for such numbers here, reports each at its own position, and puts
// 0 in its place, muting the checks of that path (d.failed), so that the
// rest of the value still decodes and is checked.

// fixInts reports every whole number in the JSON text b (the value at p)
// that does not fit an int and returns b with 0 in their places; changed
// is false when there were none.
func (d *diags) fixInts(b []byte, p vpath) (fixed []byte, changed bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return b, false
	}
	v, changed = d.fixIntsIn(v, p)
	if !changed {
		return b, false
	}
	out, err := json.Marshal(v)
	if err != nil {
		return b, false
	}
	return out, true
}

func (d *diags) fixIntsIn(v any, p vpath) (any, bool) {
	changed := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			var c bool
			x[k], c = d.fixIntsIn(e, p.field(k))
			changed = changed || c
		}
	case []any:
		for i, e := range x {
			var c bool
			x[i], c = d.fixIntsIn(e, p.index(i))
			changed = changed || c
		}
	case json.Number:
		s := x.String()
		if strings.ContainsAny(s, ".eE") {
			return v, false // not meant for an int; CUE checks the kind
		}
		if _, err := strconv.ParseInt(s, 10, 0); err == nil {
			return v, false
		}
		d.tooBig(p, s)
		return json.Number("0"), true
	}
	return v, changed
}

// tooBig reports the whole number s at p, which does not fit an int.
func (d *diags) tooBig(p vpath, s string) {
	what, bound := "large", fmt.Sprintf("at most %d", math.MaxInt)
	if strings.HasPrefix(s, "-") {
		what, bound = "small", fmt.Sprintf("at least %d", math.MinInt)
	}
	d.at(p, fmt.Sprintf("%s %s is too %s", describe(labelsOf(p)), s, what), "a whole number here is "+bound)
	d.failed = append(d.failed, p)
}

// labelsOf turns a value path back into labels, for describe.
func labelsOf(p vpath) []string {
	out := make([]string, len(p))
	for i, s := range p {
		if s.LabelType() == cue.StringLabel {
			out[i] = s.Unquoted()
		} else {
			out[i] = s.String()
		}
	}
	return out
}
