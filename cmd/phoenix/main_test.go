package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this binary as the `phoenix` command.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"phoenix": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI tests in testdata/script/*.txtar. Set
// UPDATE_GOLDEN=1 to rewrite their expected output in place.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: os.Getenv("UPDATE_GOLDEN") == "1",
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("PHOENIX_HOME", env.WorkDir+"/.phoenix")
			return nil
		},
	})
}
