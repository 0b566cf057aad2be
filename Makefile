# warroom — build, demo, test, bench.
# The first build compiles SQLite (cgo) and takes about a minute; later
# builds reuse Go's build cache. Never `go clean -cache`.

GO       ?= go
BIN      := bin
PLUGINS  := $(BIN)/plugins
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
# Provider plugins: every plugins/<name>/ with a main.go is its own binary.
PLUGIN_DIRS := $(patsubst %/main.go,%,$(wildcard plugins/*/main.go))

.PHONY: all build demo test test-go setup bench proto lint clean

all: build

build:
	@mkdir -p $(PLUGINS)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/warroom ./cmd/warroom
	$(GO) build -o $(BIN)/demo-service ./cmd/demo-service
	@for d in $(PLUGIN_DIRS); do \
		echo "$(GO) build -o $(PLUGINS)/$$(basename $$d) ./$$d"; \
		$(GO) build -o $(PLUGINS)/$$(basename $$d) ./$$d || exit 1; \
	done
	@# The checksums of the plugins this build made: the host trusts them
	@# without a manual step (any other binary needs 'warroom plugins trust').
	@cd $(PLUGINS) && rm -f SHA256SUMS && \
		for f in *; do [ -f "$$f" ] && [ -x "$$f" ] && sha256sum "$$f"; done > SHA256SUMS.tmp; \
		mv SHA256SUMS.tmp SHA256SUMS

# The main job: a fresh demo organisation in a temporary directory.
demo: build
	@scripts/demo

# Installs what the tests need from Debian's packages (idempotent), then
# runs every test.
test: setup test-go

setup:
	@scripts/setup

test-go:
	$(GO) test -count=1 -timeout 15m ./...

# Benchmarks of apply, plan and graph on a generated 5,000-service
# organisation, the store and the plugin host; then the canary simulation
# (warroom's judge against Flagger, Argo Rollouts, Kayenta and a fixed
# horizon on identical traffic, about a minute). Figures: README.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./core/... ./store/... ./tui/... ./cmd/... ./plugins/...
	$(GO) run ./scripts/canarysim

# Regenerates the plugin contracts' Go code (plugins/proto/pluginv1) with
# Debian's protoc and the generators go.mod pins as tools.
proto:
	scripts/proto

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
