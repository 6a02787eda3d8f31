package compiler

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
)

// This file turns CUE's own errors ("conflicting values int and "two"
// (mismatched types int and string)") into sentences about the user's
// spec ("role "web": count must be a whole number, not "two"").

func errorf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func isIncompleteMsg(e errors.Error) bool {
	format, _ := e.Msg()
	return strings.HasPrefix(format, "incomplete value") || strings.HasPrefix(format, "non-concrete value") ||
		strings.HasPrefix(format, "field is required but not present")
}

// reportCUE reports every error in err but those at or below a value
// CUE reported an error for already (d.userErrs): unified with the
// schema, a conflict of the user's own comes back in more words.
func reportCUE(err error, d *diags) {
	if err == nil {
		return
	}
	for _, e := range errors.Errors(err) {
		if !d.reportedBelow(e) {
			translate(e, d)
		}
	}
}

// reportUserCUE reports the errors of the spec before its unification
// with the schema, and remembers where they are.
func reportUserCUE(err error, d *diags) {
	reportCUE(err, d)
	for _, e := range errors.Errors(err) {
		d.userErrs = append(d.userErrs, errPath(e))
	}
}

func (d *diags) reportedBelow(e errors.Error) bool {
	p := errPath(e)
	for _, u := range d.userErrs {
		if len(u) <= len(p) && related(u, p) {
			return true
		}
	}
	return false
}

func translate(e errors.Error, d *diags) {
	labels := unquoteAll(e.Path())
	format, args := e.Msg()
	where := describe(labels)
	p := labelsPath(labels)
	switch {
	case strings.HasPrefix(format, "field is required but not present"):
		name := "field"
		if len(labels) > 0 {
			name = labels[len(labels)-1]
		}
		d.at(p[:max(len(p)-1, 0)], fmt.Sprintf("%s: missing required field %q", parentName(labels), name), "")
	case format == "field not allowed" && len(labels) > 0:
		field := labels[len(labels)-1]
		allowed := d.allowedFields(labels[:len(labels)-1])
		if slices.Contains(allowed, field) {
			// The schema allows it: a closed definition of the user's
			// own (#Env: {...}) does not.
			d.atLabel(p, fmt.Sprintf("%s: field %q is not allowed by a definition of the spec", parentName(labels), field),
				"definitions (#Name: {...}) are closed: declare the field in the definition, or end it with ... to leave it open")
			return
		}
		detail := ""
		if len(allowed) > 0 {
			detail = didYouMean(field, allowed, "allowed fields: "+strings.Join(allowed, ", "))
		}
		d.atLabel(p, fmt.Sprintf("%s: unknown field %q", parentName(labels), field), detail)
	case strings.HasPrefix(format, "incomplete value") || strings.HasPrefix(format, "non-concrete value") ||
		strings.HasPrefix(format, "cannot convert incomplete value"):
		what := errorf(format, args...)
		if v := d.user.LookupPath(p.path()); v.Exists() {
			if d.wasReplaced(v) {
				return // an unresolved reference, reported as such
			}
			what = cueText(v)
		}
		d.at(p, fmt.Sprintf("%s has no concrete value: %s", where, what),
			"give it a value, not only a type, a constraint or alternatives without a default (*)")
	case (strings.HasPrefix(format, "builtin package") || strings.HasPrefix(format, "package %q imported but not defined")) && len(args) > 0:
		d.add(d.firstUserPos(e), fmt.Sprintf("cannot import %q: a spec may import CUE's standard library only", args[0]),
			"a spec is one package in one directory; put shared values in a file of the spec")
	case strings.HasPrefix(format, "import %q not found"):
		// A use of an import reported above; once is enough.
	case strings.HasPrefix(format, "reference %q not found") && len(args) > 0:
		msg := fmt.Sprintf("reference %q not found", args[0])
		if where != "" && !strings.HasPrefix(where, "let") {
			msg = where + ": " + msg
		}
		d.add(d.firstUserPos(e), msg,
			fmt.Sprintf("a bare name refers to another field; a string is written in quotes: \"%v\"", args[0]))
	case strings.HasPrefix(format, "structural cycle"):
		translateCycle(e, labels, d)
	case strings.HasPrefix(format, "conflicting values") || strings.HasPrefix(format, "conflicting value "):
		translateConflict(e, labels, d)
	case strings.Contains(format, "errors in empty disjunction"):
		// The alternatives are reported one by one after this summary
		// line; a mismatched type is the useful part.
		translateConflict(e, labels, d)
	default:
		pos := d.firstUserPos(e)
		if pos.File == "" {
			pos = d.posOf(p)
		}
		msg := errorf(format, args...)
		if len(labels) > 0 {
			msg = where + ": " + msg
		}
		d.add(pos, msg, "")
	}
}

// errPath is the value path of a CUE error.
func errPath(e errors.Error) vpath { return labelsPath(unquoteAll(e.Path())) }

// translateCycle reports a value that contains itself. In a spec this is
// almost always a name meant as a string that happens to name the field
// around it (roles: api: image: api), so the bare name is said, with the
// quotes it needs.
func translateCycle(e errors.Error, labels []string, d *diags) {
	where := place(labels)
	pos := d.firstUserPos(e)
	if pos.File == "" {
		pos = d.posOf(labelsPath(labels))
	}
	v := d.user.LookupPath(labelsPath(labels).path())
	if id, ok := bareName(v.Source()); ok {
		d.add(pos, fmt.Sprintf("%s: %s refers to the field %q that holds this value, which then contains itself", where, id.Name, id.Name),
			fmt.Sprintf("a bare name refers to a field; a string is written in quotes: \"%s\"", id.Name))
		return
	}
	d.add(pos, where+": the value contains itself (a structural cycle)",
		"a field may not be defined in terms of a struct that holds it")
}

// bareName returns the identifier a value is written as, whether the
// source is the field (image: api) or the expression alone.
func bareName(n ast.Node) (*ast.Ident, bool) {
	if f, ok := n.(*ast.Field); ok {
		n = f.Value
	}
	id, ok := n.(*ast.Ident)
	return id, ok
}

// translateConflict reports a value that does not fit: either the wrong
// kind of value for the schema, or two values of the user's that differ.
func translateConflict(e errors.Error, labels []string, d *diags) {
	p := labelsPath(labels)
	where := place(labels)
	v := d.user.LookupPath(p.path())
	if want := d.expectedKind(labels); want != cue.BottomKind && v.Exists() && v.Err() == nil {
		if got := v.IncompleteKind(); got&want == 0 {
			if len(labels) == 0 {
				// The spec as a whole: the root has no position of its
				// own, the offending value (an embedded list) has.
				pos := d.firstUserPos(e)
				if pos.File == "" {
					pos = d.posOf(p)
				}
				d.add(pos, fmt.Sprintf("the spec must be %s, not %s", kindName(want), shortValue(v)),
					"a spec file holds fields such as project: \"shop\" after its package clause")
				return
			}
			d.at(p, fmt.Sprintf("%s must be %s, not %s", where, kindName(want), shortValue(v)), "")
			return
		}
	}
	var user []string
	for _, pos := range errors.Positions(e) {
		if dp := d.cuePos(pos); dp.File != "" {
			user = append(user, dp.String())
		}
	}
	format, args := e.Msg()
	msg := errorf(format, args...)
	if strings.Contains(format, "empty disjunction") {
		msg = "no allowed value matches"
	}
	if strings.HasPrefix(format, "conflicting values %s and %s") && len(args) >= 2 && len(user) > 1 {
		msg = fmt.Sprintf("two different values, %v and %v", args[0], args[1])
	}
	detail := ""
	if len(user) > 1 {
		detail = "set at " + strings.Join(user, " and ")
	}
	pos := d.firstUserPos(e)
	if pos.File == "" {
		pos = d.posOf(p)
	}
	d.add(pos, fmt.Sprintf("%s: %s", where, msg), detail)
}

// shortValue prints a user's value for a message, cut short.
func shortValue(v cue.Value) string {
	var s string
	if b, err := v.MarshalJSON(); err == nil {
		s = string(b)
	} else {
		s = fmt.Sprint(v)
	}
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// cueText prints a value as CUE, on one line, cut short.
func cueText(v cue.Value) string {
	s := strings.Join(strings.Fields(fmt.Sprint(v)), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

func kindName(k cue.Kind) string {
	switch {
	case k == cue.IntKind:
		return "a whole number"
	case k&cue.NumberKind != 0 && k&^cue.NumberKind == 0:
		return "a number"
	case k == cue.StringKind:
		return "a string"
	case k == cue.BoolKind:
		return "true or false"
	case k == cue.StructKind:
		return "a struct { ... }"
	case k == cue.ListKind:
		return "a list [ ... ]"
	}
	return k.String()
}

// mapFields are the schema's fields whose labels are free names (a
// pattern constraint).
var mapFields = map[string]bool{"images": true, "roles": true, "environments": true, "files": true, "env": true, "config": true, "secrets": true}

// schemaAt finds the schema of the value at a path in the spec: free
// names are pattern constraints, list elements any index, and fields may
// be optional or required in the schema.
func (d *diags) schemaAt(labels []string) cue.Value {
	v := d.schema.LookupPath(cue.MakePath(cue.Def("#Spec")))
	free := false
	for _, l := range labels {
		switch prev := free; {
		case prev:
			v = v.LookupPath(cue.MakePath(cue.AnyString))
			free = false
		case isIndex(l):
			v = v.LookupPath(cue.MakePath(cue.AnyIndex))
		default:
			sel := cue.Str(l)
			next := v.LookupPath(cue.MakePath(sel))
			if !next.Exists() {
				next = v.LookupPath(cue.MakePath(sel.Optional()))
			}
			if !next.Exists() {
				next = v.LookupPath(cue.MakePath(sel.Required()))
			}
			v = next
			free = mapFields[l]
		}
		if !v.Exists() {
			return v
		}
	}
	return v
}

// unquoteAll turns CUE's quoted labels ("\"pr-1\"") into names.
func unquoteAll(labels []string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		if u, err := strconv.Unquote(l); err == nil && strings.HasPrefix(l, "\"") {
			l = u
		}
		out[i] = l
	}
	return out
}

func isIndex(l string) bool { _, err := strconv.Atoi(l); return err == nil }

// expectedKind is the kind of value the schema wants at labels, or
// BottomKind when it cannot tell.
func (d *diags) expectedKind(labels []string) cue.Kind {
	v := d.schemaAt(labels)
	if !v.Exists() {
		return cue.BottomKind
	}
	return v.IncompleteKind()
}

// allowedFields lists the fields the schema allows in the struct at labels.
func (d *diags) allowedFields(labels []string) []string {
	it, err := d.schemaAt(labels).Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		names = append(names, it.Selector().Unquoted())
	}
	slices.Sort(names)
	return names
}

// labelsPath turns CUE's error path into a value path.
func labelsPath(labels []string) vpath {
	p := make(vpath, 0, len(labels))
	free := false
	for _, l := range labels {
		if !free && isIndex(l) {
			i, _ := strconv.Atoi(l)
			p = append(p, cue.Index(i))
			continue
		}
		p = append(p, cue.Str(l))
		free = !free && mapFields[l]
	}
	return p
}

// describe names the place of a value for a person:
// ["environments","prod","roles","api","count"] is
// `environment "prod", role "api": count`.
func describe(labels []string) string {
	who, i := entities(labels)
	var rest strings.Builder
	for _, l := range labels[i:] {
		switch {
		case isIndex(l):
			fmt.Fprintf(&rest, "[%s]", l)
		case rest.Len() > 0:
			rest.WriteString("." + l)
		default:
			rest.WriteString(l)
		}
	}
	switch {
	case len(who) == 0:
		return rest.String()
	case rest.Len() == 0:
		return strings.Join(who, ", ")
	}
	return strings.Join(who, ", ") + ": " + rest.String()
}

// place is describe(labels), or "the spec" for the spec as a whole.
func place(labels []string) string {
	if where := describe(labels); where != "" {
		return where
	}
	return "the spec"
}

// entities names the images, roles and environments that labels lead
// through (`environment "prod"`, `role "api"`) and returns the index of
// the first label below them.
func entities(labels []string) (who []string, i int) {
	for ; i+1 < len(labels); i += 2 {
		kind := entityKind(labels[i])
		if kind == "" {
			break
		}
		who = append(who, fmt.Sprintf("%s %q", kind, labels[i+1]))
	}
	return who, i
}

// parentName names the struct that holds the last label.
func parentName(labels []string) string {
	if len(labels) <= 1 {
		return "spec"
	}
	return describe(labels[:len(labels)-1])
}

func entityKind(section string) string {
	switch section {
	case "images":
		return "image"
	case "roles":
		return "role"
	case "environments":
		return "environment"
	}
	return ""
}
