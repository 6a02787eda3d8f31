// Package schema embeds the CUE schema of a Phoenix spec, so that the
// binary carries the language it checks.
package schema

import _ "embed"

// Source is the schema's CUE text; #Spec is the definition a spec
// unifies with.
//
//go:embed phoenix.cue
var Source []byte

// Filename is the name the schema is compiled under; positions in it are
// never shown to a user.
const Filename = "phoenix-schema.cue"
