# The two commands of the README: `make demo` runs the main job on the
# example spec, `make test` runs every test. Both need only Go.

GO ?= go
PHOENIX := bin/phoenix
SPEC ?= environments

.PHONY: demo test fuzz bench build clean check-graphs

# COMMIT names the build where go build cannot stamp it (a git worktree,
# GOFLAGS=-buildvcs=false); `phoenix version` prefers go build's own.
COMMIT := $(shell git describe --always --dirty --abbrev=12 --exclude '*' 2>/dev/null)

build:
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(PHOENIX) ./cmd/phoenix

# demo: plan and apply the example spec on the local cloud (real servers
# behind real proxies on 127.0.0.1:17081-17086), then show what serves
# where. Run it again after changing the spec: only what changed moves.
# The demo is a playground, so it applies a spec with uncommitted changes
# (--allow-dirty: pools record HEAD's commit marked -dirty); APPLY_FLAGS=
# makes it refuse one, as phoenix apply does by default.
# `bin/phoenix cloud down` stops everything it started.
APPLY_FLAGS ?= --allow-dirty

demo: build
	$(PHOENIX) validate $(SPEC)
	@$(PHOENIX) plan $(SPEC); rc=$$?; [ $$rc -ne 1 ]
	PHOENIX_DEMO_API_TOKEN=$${PHOENIX_DEMO_API_TOKEN:-demo-token} $(PHOENIX) apply $(SPEC) --yes $(APPLY_FLAGS)
	@$(PHOENIX) status $(SPEC)
	@echo
	@echo "Point a browser at:"
	@$(PHOENIX) status $(SPEC) | awk 'NR > 1 && $$2 == "web" && $$3 ~ /:/ { printf "  %-8s http://%s/\n", $$1, $$3 }'
	@echo "(stop everything with: $(PHOENIX) cloud down)"

# test also cross-compiles: macOS runs the local cloud (vet compiles its
# tests too), Windows builds for the aws cloud and says the local cloud
# does not run there.
#
# test also runs every fuzz target (make fuzz, below) for FUZZTIME beyond
# its seed corpus: specs, git trees, saved plans, the local state and the supervisor's
# requests are input from outside, refused when bad, never a crash.
# A count of inputs, not a duration: a timed run fails with "context
# deadline exceeded" when a worker is slow to answer at the deadline on a
# loaded machine (seen once in a clean-clone CI run of FuzzParse, with no
# failing input), and a count also costs the same on any machine.
FUZZTIME ?= 2000x

test:
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	GOOS=windows $(GO) build ./...
	$(GO) test -race -timeout 40m ./...
	$(MAKE) fuzz

# fuzz: every fuzz target (package:Name in FUZZ) for FUZZTIME beyond its
# seed corpus, which plain `go test` runs already. FUZZTIME=10m for a long
# run; a failing input is written to the package's testdata/fuzz, to be
# committed with its fix.
FUZZ := compiler:FuzzCompile gitspec:FuzzTreeFS planfile:FuzzParse cloud/local:FuzzCreateNamesStayInHome cloud/local:FuzzStateRecords
fuzz:
	@for t in $(FUZZ); do \
		echo "fuzz $${t#*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

# check-graphs: render every golden Mermaid graph (render/testdata: the
# .mmd files and the comments' graphs) with npm's mermaid@11 in headless
# Chromium, as GitHub draws a pull-request comment, and fail on Mermaid's
# error diagram. Installs Debian's chromium and mermaid (into
# ~/.cache/phoenix/check-graphs) when absent; not part of make test.
check-graphs:
	sh tools/check-graphs/check.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

clean:
	rm -rf bin
