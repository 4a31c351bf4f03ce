# scim-bridge: the two commands that matter are `make run` and `make test`.

GO        ?= go
BIN       := bin/scim-bridge
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Packages whose concurrency is worth the race detector's cost in every run.
RACE_PKGS := ./state/... ./bridge/... ./scim/...

.PHONY: all build run test test-go deps bench lint fmt clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/scim-bridge

## run: build and serve on the embedded store, printing the SCIM URL and tokens.
run: build
	./$(BIN) serve $(ARGS)

## deps: install what the tests need (redis-server, node and npm packages).
deps:
	./scripts/ensure-deps.sh

## test: every test, after installing what they need.
test: deps test-go

test-go:
	$(GO) test -count=1 -timeout 60m $(PKGS)
	$(GO) test -count=1 -race -timeout 60m $(RACE_PKGS)

## bench: the benchmarks of the store, SCIM, mapping and sync packages.
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m $(PKGS)

## lint: formatting, go vet and staticcheck.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
