package local

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// resolveSecrets turns secret references into values, in the process that
// calls the cloud (the CLI), never in the supervisor and never on disk:
//
//	env:NAME   the variable NAME of the caller's environment
//	file:PATH  the contents of a file (one trailing newline dropped)
//
// AWS references (ssm:, secretsmanager:) have no meaning on this machine
// and are refused with a clear error rather than passed on empty.
func resolveSecrets(refs map[string]string) (map[string]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make(map[string]string, len(refs))
	for _, name := range names {
		v, err := resolveSecret(refs[name])
		if err != nil {
			return nil, fmt.Errorf("secret %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func resolveSecret(ref string) (string, error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if !ok {
		return "", fmt.Errorf("reference %q has no scheme (env:NAME or file:PATH)", ref)
	}
	switch scheme {
	case "env":
		v, ok := os.LookupEnv(rest)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", rest)
		}
		return v, nil
	case "file":
		b, err := os.ReadFile(rest)
		if err != nil {
			return "", fmt.Errorf("reading %s: %w", rest, err)
		}
		return strings.TrimSuffix(string(b), "\n"), nil
	case "ssm", "secretsmanager":
		return "", fmt.Errorf("%s references are not supported on the local cloud; use env:NAME or file:PATH", scheme)
	}
	return "", fmt.Errorf("unknown secret reference scheme %q (env:NAME or file:PATH)", scheme)
}
