// Package diag holds diagnostics: errors a person reads, with the position
// of the offending value, a one-line summary and an optional detail. They
// are created deep in the compiler and printed once, in main.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a spec file; Line and Col count from 1.
type Pos struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one problem found in a spec.
type Diagnostic struct {
	Pos     Pos    `json:"pos"`
	Summary string `json:"summary"`
	// Detail is an optional hint on further lines ("defined roles: api, web").
	Detail string `json:"detail,omitempty"`
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if s := d.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	b.WriteString(d.Summary)
	for _, l := range strings.Split(d.Detail, "\n") {
		if l != "" {
			b.WriteString("\n    ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// List is every diagnostic of a spec; as an error it prints them all.
type List []Diagnostic

func (l List) Error() string {
	parts := make([]string, len(l))
	for i, d := range l {
		parts[i] = d.String()
	}
	return strings.Join(parts, "\n")
}

// Sort orders diagnostics by file, line, column, then summary, and drops
// exact duplicates.
func (l List) Sort() List {
	slices.SortFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col), cmp.Compare(a.Summary, b.Summary))
	})
	return slices.Compact(l)
}
