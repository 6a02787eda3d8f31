# The two commands of the README: `make demo` runs the main job on the
# example spec, `make test` runs every test. Both need only Go.

GO ?= go
PHOENIX := bin/phoenix
SPEC ?= environments

.PHONY: demo test bench build clean

build:
	$(GO) build -o $(PHOENIX) ./cmd/phoenix

demo: build
	$(PHOENIX) validate $(SPEC)
	$(PHOENIX) compile $(SPEC) --format text

test:
	$(GO) vet ./...
	$(GO) test -race -timeout 40m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

clean:
	rm -rf bin
