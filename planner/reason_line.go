package planner

import (
	"fmt"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// maxOutputLine bounds the line of a crashed server's output a reason
// quotes.
const maxOutputLine = 120

// failureLine is a failed pool's reason on one line, for the plan's tables
// (text, Markdown) whose "why" column a newline breaks: a crashed server's
// last output (many lines, as the cloud recorded it) is cut to its last
// line, and the reason says how to read all of it.
func failureLine(p *cloud.Pool) string {
	head, output, multi := strings.Cut(p.Reason, "\n")
	if !multi {
		return p.Reason
	}
	var lines []string
	for _, l := range strings.Split(output, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	head = strings.TrimSuffix(strings.TrimSpace(head), ":")
	if len(lines) == 0 {
		return head
	}
	last := lines[len(lines)-1]
	if r := []rune(last); len(r) > maxOutputLine {
		last = string(r[:maxOutputLine]) + "…"
	}
	return fmt.Sprintf("%s: %s (all of it: phoenix logs %s %s --pool %s)", head, last, p.Env, p.Role,
		cloud.ShortPool(p.Role, p.Key, p.Generation))
}
