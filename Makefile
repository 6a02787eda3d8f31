# The two commands of the README: `make demo` runs the main job on the
# example spec, `make test` runs every test. Both need only Go.

GO ?= go
PHOENIX := bin/phoenix
SPEC ?= environments

.PHONY: demo test fuzz bench build clean

build:
	$(GO) build -o $(PHOENIX) ./cmd/phoenix

# demo: plan and apply the example spec on the local cloud (real servers
# behind real proxies on 127.0.0.1:17081-17086), then show what serves
# where. Run it again after changing the spec: only what changed moves.
# `bin/phoenix cloud down` stops everything it started.
demo: build
	$(PHOENIX) validate $(SPEC)
	@$(PHOENIX) plan $(SPEC); rc=$$?; [ $$rc -ne 1 ]
	PHOENIX_DEMO_API_TOKEN=$${PHOENIX_DEMO_API_TOKEN:-demo-token} $(PHOENIX) apply $(SPEC) --yes $(APPLY_FLAGS)
	@$(PHOENIX) status $(SPEC)
	@echo
	@echo "Point a browser at:"
	@$(PHOENIX) status $(SPEC) | awk 'NR > 1 && $$2 == "web" && $$3 ~ /:/ { printf "  %-8s http://%s/\n", $$1, $$3 }'
	@echo "(stop everything with: $(PHOENIX) cloud down)"

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 40m ./...
	$(MAKE) fuzz

# fuzz: every fuzz target (package:Name in FUZZ) for FUZZTIME beyond its
# seed corpus, which plain `go test` runs already. FUZZTIME=10m for a long
# run; a failing input is written to the package's testdata/fuzz, to be
# committed with its fix.
FUZZTIME ?= 5s
FUZZ := compiler:FuzzCompile gitspec:FuzzTreeFS
fuzz:
	@for t in $(FUZZ); do \
		echo "fuzz $${t#*:} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) ./$${t%%:*}/ || exit 1; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

clean:
	rm -rf bin
