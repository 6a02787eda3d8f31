package compiler

import (
	"encoding/json"
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/errors"

	"github.com/phoenix-gitops/phoenix/schema"
)

// evaluation is the result of evaluating a spec's files with the schema.
type evaluation struct {
	user cue.Value // the spec alone, for positions
	spec cue.Value // the spec unified with #Spec, defaults filled in
	raw  *rawSpec  // decoded spec; entries that failed are left out
	// broken holds the names of entries that exist but could not be
	// decoded because of an error already reported; references to them
	// are not reported again.
	broken map[string]map[string]bool
}

// evaluate builds the files as one package, unifies it with the schema,
// reports CUE's errors in human terms and decodes what it can.
func evaluate(files []*specFile, d *diags) *evaluation {
	ctx := cuecontext.New()
	sch := ctx.CompileBytes(schema.Source, cue.Filename(schema.Filename))
	if err := sch.Err(); err != nil {
		panic(fmt.Sprintf("compiler: the embedded schema does not compile: %v", err))
	}
	d.schema = sch
	user, ok := buildUser(ctx, files, d)
	if !ok {
		return nil
	}
	d.user = user
	if err := user.Err(); err != nil && !isIncomplete(err) {
		// Err holds the first error; Validate collects them all. The
		// values they concern fail to decode below and their checks are
		// muted; everything else is still decoded and checked, so that
		// one conflict does not hide the other problems of a spec.
		if all := user.Validate(); all != nil {
			err = all
		}
		reportUserCUE(err, d)
	}
	ev := &evaluation{user: user, spec: user.Unify(sch.LookupPath(cue.ParsePath("#Spec")))}
	ev.raw, ev.broken = decode(ev.spec, d)
	return ev
}

// buildUser builds the files as one package. Unresolved references, which
// make CUE reject the whole package, are reported and replaced (see
// refs.go) so that the rest of the spec is still evaluated.
func buildUser(ctx *cue.Context, files []*specFile, d *diags) (cue.Value, bool) {
	user, err := buildPackage(ctx, files)
	if err != nil {
		d.addCUE(err, "")
		return cue.Value{}, false
	}
	refs := unresolved(user.Err())
	if len(refs) == 0 {
		return user, true
	}
	patched, ok := withoutRefs(files, refs, d)
	if !ok {
		return user, true
	}
	d.user = user
	reportUserCUE(user.Validate(), d)
	for _, e := range refs {
		d.failed = append(d.failed, errPath(e))
	}
	if user, err = buildPackage(ctx, patched); err != nil {
		d.addCUE(err, "")
		return cue.Value{}, false
	}
	return user, true
}

// buildPackage builds the files as one package; the error is that of a
// file that does not fit in it (a different package clause).
func buildPackage(ctx *cue.Context, files []*specFile) (cue.Value, errors.Error) {
	inst := build.NewContext().NewInstance("", nil)
	for _, f := range files {
		if err := inst.AddSyntax(f.ast); err != nil {
			return cue.Value{}, err
		}
	}
	return ctx.BuildInstance(inst), nil
}

// isIncomplete says whether err only says that values are not concrete
// yet; those are reported, with better words, after the unification.
func isIncomplete(err error) bool {
	for _, e := range errors.Errors(err) {
		if !isIncompleteMsg(e) {
			return false
		}
	}
	return true
}

// decode turns the unified spec into a rawSpec. The fast path marshals the
// whole value once; when the spec has errors it validates, reports every
// error, and decodes field by field, leaving out the fields that fail, so
// that the checks still run on everything else (checks of the failed
// fields are muted: their errors were reported by CUE already).
func decode(spec cue.Value, d *diags) (*rawSpec, map[string]map[string]bool) {
	if b, err := spec.MarshalJSON(); err == nil {
		var raw rawSpec
		if err := json.Unmarshal(b, &raw); err == nil {
			return &raw, nil
		}
		if b, changed := d.fixInts(b, nil); changed {
			raw = rawSpec{}
			if err := json.Unmarshal(b, &raw); err == nil {
				return &raw, nil
			}
		}
	}
	reportCUE(spec.Validate(cue.Concrete(true)), d)
	raw := &rawSpec{Images: map[string]*rawImage{}, Roles: map[string]*rawRole{},
		Environments: map[string]*rawEnv{}}
	broken := map[string]map[string]bool{"images": {}, "roles": {}, "environments": {}}
	project := pathOf("project")
	if s, err := spec.LookupPath(project.path()).String(); err == nil {
		raw.Project = s
	} else {
		d.failed = append(d.failed, project)
	}
	decodeEntries(spec, "images", raw.Images, broken["images"], d)
	decodeEntries(spec, "roles", raw.Roles, broken["roles"], d)
	decodeEntries(spec, "environments", raw.Environments, broken["environments"], d)
	return raw, broken
}

func decodeEntries[T any](spec cue.Value, section string, into map[string]*T, broken map[string]bool, d *diags) {
	sp := pathOf(section)
	it, err := spec.LookupPath(sp.path()).Fields()
	if err != nil {
		d.failed = append(d.failed, sp)
		return
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		var t T
		if decodeLenient(it.Value(), sp.field(name), &t, d) {
			into[name] = &t
		} else {
			broken[name] = true
		}
	}
}

// decodeLenient decodes v into t, field by field when v as a whole has
// errors; the paths of fields that fail are recorded in d.failed. It
// reports false when v is not even a struct.
func decodeLenient(v cue.Value, p vpath, t any, d *diags) bool {
	if b, err := v.MarshalJSON(); err == nil && unmarshalFixing(b, p, t, d) {
		return true
	}
	it, err := v.Fields()
	if err != nil {
		d.failed = append(d.failed, p)
		return false
	}
	obj := map[string]json.RawMessage{}
	for it.Next() {
		name := it.Selector().Unquoted()
		if b, ok := lenientJSON(it.Value(), p.field(name), d); ok {
			obj[name] = b
		}
	}
	// Decode fields one at a time, so that one of the wrong shape (a
	// type error CUE reported) does not lose the others.
	for name, b := range obj {
		one, _ := json.Marshal(map[string]json.RawMessage{name: b})
		if !unmarshalFixing(one, p, t, d) {
			d.failed = append(d.failed, p.field(name))
		}
	}
	return true
}

// lenientJSON is the JSON of v without the values that have errors,
// whose paths it records in d.failed: a struct with a wrong field deep
// inside keeps its other fields, so that one wrong count in an
// environment's role does not hide the environment's endpoints from the
// checks that span the spec (endpoint clashes), which would then be
// reported only once the count is fixed. It reports false when v itself
// has no JSON.
func lenientJSON(v cue.Value, p vpath, d *diags) (json.RawMessage, bool) {
	b, err := v.MarshalJSON()
	if err == nil && json.Valid(b) {
		return b, true
	}
	// A struct with an error inside is itself an error (kind _|_), but
	// its fields can still be walked.
	if it, ferr := v.Fields(); ferr == nil {
		obj := map[string]json.RawMessage{}
		for it.Next() {
			sel := it.Selector()
			if !sel.IsString() {
				continue // a definition or a pattern: no JSON of its own
			}
			name := sel.Unquoted()
			if fb, ok := lenientJSON(it.Value(), p.field(name), d); ok {
				obj[name] = fb
			}
		}
		out, _ := json.Marshal(obj)
		return out, true
	}
	// Validate leaves out some errors (values that are not concrete)
	// when there are others; report them here, the list drops
	// duplicates.
	reportCUE(err, d)
	d.failed = append(d.failed, p)
	return nil, false
}

// unmarshalFixing decodes b, the JSON of the value at p, into t; when that
// fails for numbers too large for an int, it reports them and decodes
// with 0 in their places.
func unmarshalFixing(b []byte, p vpath, t any, d *diags) bool {
	if json.Unmarshal(b, t) == nil {
		return true
	}
	fixed, changed := d.fixInts(b, p)
	return changed && json.Unmarshal(fixed, t) == nil
}
