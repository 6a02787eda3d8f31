package main

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeTourCommandsParse: the README's tour is meant to be copied and
// pasted, so each phoenix line in it must name a command that exists, with
// flags it has and arguments it accepts (it once listed "cloud
// up|down|status", which a shell runs as a pipeline).
func TestReadmeTourCommandsParse(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## A tour")
	if i < 0 {
		t.Fatal("README has no tour")
	}
	block := s[i:]
	block = block[strings.Index(block, "```sh\n")+6:]
	block = block[:strings.Index(block, "```")]
	n := 0
	for _, line := range strings.Split(block, "\n") {
		line, _, _ = strings.Cut(line, "#")
		words := strings.Fields(line)
		if len(words) == 0 || words[0] != "phoenix" {
			continue
		}
		n++
		if strings.ContainsAny(line, "|&;<>") {
			t.Errorf("%q: a shell would not run it as one phoenix command", strings.TrimSpace(line))
			continue
		}
		root := newRootCmd()
		cmd, args, err := root.Find(words[1:])
		if err == nil && cmd == root {
			err = os.ErrNotExist
		}
		if err == nil {
			err = cmd.ParseFlags(args)
		}
		if err == nil {
			err = cmd.ValidateArgs(cmd.Flags().Args())
		}
		if err != nil {
			t.Errorf("%q: %v", strings.TrimSpace(line), err)
		}
	}
	if n < 10 {
		t.Errorf("found %d phoenix commands in the tour, want the whole tour", n)
	}
}

// TestReadmeScheduleCommandsParse: the README's timer and cron line run
// phoenix unattended, where a wrong flag is seen only when the night's
// apply fails; each must be a phoenix command with flags it has.
func TestReadmeScheduleCommandsParse(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "## On a schedule")
	if i < 0 {
		t.Fatal("README has no section on running Phoenix on a schedule")
	}
	s = s[i:]
	s = s[:strings.Index(s[3:], "\n## ")+3]
	n := 0
	for _, line := range strings.Split(s, "\n") {
		_, rest, ok := strings.Cut(line, `phoenix" apply`)
		if !ok {
			_, rest, ok = strings.Cut(line, "bin/phoenix apply")
		}
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, ">>")
		n++
		root := newRootCmd()
		cmd, args, err := root.Find(append([]string{"apply"}, strings.Fields(rest)...))
		if err == nil {
			err = cmd.ParseFlags(args)
		}
		if err == nil {
			err = cmd.ValidateArgs(cmd.Flags().Args())
		}
		if err != nil || cmd.Name() != "apply" {
			t.Errorf("%q: %v", strings.TrimSpace(line), err)
		}
		if !strings.Contains(rest, "--rev") || !strings.Contains(rest, "--yes") {
			t.Errorf("%q: an unattended apply reads a revision (--rev) and asks nothing (--yes)", strings.TrimSpace(line))
		}
	}
	if n != 2 {
		t.Errorf("found %d scheduled phoenix apply commands, want the timer's and the cron line's", n)
	}
}
