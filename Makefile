# OctoBase build and test entry points (GNU make). `make help` lists them.
#
# `make test` is what CI runs (.ci/run): it installs what it needs (Go
# modules, the pinned npm packages used by interop tests), then checks
# formatting, vets, builds the engine for WebAssembly and runs every test
# with the race detector.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

GO       ?= go
NPM      ?= npm
NODE     ?= node
PKGS     ?= ./...
FMTDIRS  ?= .
WASMPKGS ?= ./engine/...
TESTFLAGS ?=
TIMEOUT  ?= 20m
BENCH    ?= .
FUZZTIME ?= 10s

# npm ci runs again when the lock file (or package.json) is newer than this stamp.
NODE_STAMP := node_modules/.stamp
FIXTURES   := engine/crdt/testdata/yjs

.PHONY: help
help: ## list targets
	@echo "OctoBase make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'
	@echo "Variables (override on the command line):"
	@echo "  PKGS=$(PKGS) FMTDIRS=$(FMTDIRS) WASMPKGS=$(WASMPKGS)"
	@echo "  TESTFLAGS=$(TESTFLAGS) TIMEOUT=$(TIMEOUT) BENCH=$(BENCH) FUZZTIME=$(FUZZTIME)"

.PHONY: deps
deps: go-deps $(NODE_STAMP) ## download Go modules and install the pinned npm packages

.PHONY: go-deps
go-deps:
	$(GO) mod download

$(NODE_STAMP): package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: fmt-check
fmt-check: ## fail if gofmt would change any file
	@files=$$(find $(FMTDIRS) \( -name node_modules -o -name .git -o -name testdata \) -prune -o -name '*.go' -print); \
	bad=$$(if [ -n "$$files" ]; then gofmt -l $$files; fi); \
	if [ -n "$$bad" ]; then echo "gofmt: these files need formatting (run gofmt -w):"; echo "$$bad"; exit 1; fi

.PHONY: vet
vet: go-deps ## go vet
	$(GO) vet $(PKGS)

# The CRDT core must build for the browser and for WASI (docs/DESIGN.md).
# Skipped while WASMPKGS matches no Go packages.
.PHONY: wasm
wasm: go-deps ## build ./engine/... for js/wasm and wasip1/wasm
	@if pkgs=$$($(GO) list $(WASMPKGS) 2>/dev/null) && [ -n "$$pkgs" ]; then \
		for p in js/wasm wasip1/wasm; do \
			echo "GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build $(WASMPKGS)"; \
			GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build $(WASMPKGS); \
		done; \
	else \
		echo "wasm: no Go packages in $(WASMPKGS) (or go list failed); skipping"; \
	fi

.PHONY: test
test: export OCTOBASE_REQUIRE_NODE := 1
test: deps fmt-check vet wasm ## everything CI checks: deps, gofmt, vet, wasm builds, go test -race
	$(GO) test -race -timeout $(TIMEOUT) $(TESTFLAGS) $(PKGS)

.PHONY: build
build: go-deps ## build bin/octobase (when cmd/octobase exists)
	@if [ -d cmd/octobase ]; then \
		echo "$(GO) build -o bin/octobase ./cmd/octobase"; \
		$(GO) build -o bin/octobase ./cmd/octobase; \
	else \
		echo "build: no cmd/octobase yet; nothing to build"; \
	fi

.PHONY: bench
bench: deps ## side-by-side merge benchmarks against yjs and ywasm (docs/benchmarks.md); ONLY=regexp
	$(MAKE) -C bench merge $(if $(ONLY),ONLY='$(ONLY)')

.PHONY: dist
dist: go-deps ## release binaries of octobase for every target in internal/crossbuild, in dist/
	@mkdir -p dist
	@for t in linux/amd64 linux/arm64 linux/riscv64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64 js/wasm wasip1/wasm; do \
		os=$${t%/*}; arch=$${t#*/}; ext=; \
		case $$os in windows) ext=.exe;; js|wasip1) ext=.wasm;; esac; \
		echo "GOOS=$$os GOARCH=$$arch go build -o dist/octobase-$$os-$$arch$$ext ./cmd/octobase"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -o dist/octobase-$$os-$$arch$$ext ./cmd/octobase; \
	done

# The C library (docs/embedding.md) for the host, with its header, and the
# WebAssembly module with what Node.js needs to load it.
.PHONY: lib
lib: go-deps ## build liboctobase (shared + static) and octobase.wasm into dist/lib
	@mkdir -p dist/lib
	@case "$$($(GO) env GOOS)" in darwin) ext=dylib;; windows) ext=dll;; *) ext=so;; esac; \
		echo "CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o dist/lib/liboctobase.$$ext ./cmd/liboctobase"; \
		CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o dist/lib/liboctobase.$$ext ./cmd/liboctobase
	CGO_ENABLED=1 $(GO) build -buildmode=c-archive -o dist/lib/liboctobase.a ./cmd/liboctobase
	cp cmd/liboctobase/octobase.h bindings/python/octobase.py bindings/js/octobase.cjs dist/lib/
	GOOS=js GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -o dist/lib/octobase.wasm ./cmd/octobase-wasm
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" dist/lib/

.PHONY: bench-go
bench-go: deps ## Go micro-benchmarks (BENCH=regexp, PKGS=...)
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKGS)

# Each Fuzz target runs on its own for FUZZTIME (go test -fuzz takes one
# target of one package at a time).
.PHONY: fuzz
fuzz: go-deps ## run every Fuzz target for FUZZTIME each (default 10s)
	@dirs=$$( { grep -rlE '^func Fuzz[A-Z0-9_]' --include='*_test.go' --exclude-dir=node_modules --exclude-dir=testdata --exclude-dir=.git . || true; } \
		| xargs -r -n1 dirname | sort -u); \
	n=0; \
	for d in $$dirs; do \
		for f in $$($(GO) test -list '^Fuzz' "$$d" | grep -E '^Fuzz'); do \
			echo "== $$d $$f ($(FUZZTIME))"; \
			$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) "$$d"; \
			n=$$((n+1)); \
		done; \
	done; \
	echo "fuzz: ran $$n target(s)"

.PHONY: fixtures
fixtures: $(NODE_STAMP) ## regenerate engine/crdt/testdata/yjs from the real yjs
	$(NODE) $(FIXTURES)/gen.cjs

.PHONY: clean
clean: ## remove build outputs, test binaries, profiles and node_modules
	rm -rf bin node_modules
	find . \( -path ./.git -o -name testdata \) -prune -o -type f \
		\( -name '*.test' -o -name '*.prof' -o -name 'cpu*.out' -o -name 'mem*.out' -o -name 'block*.out' -o -name 'mutex*.out' \) \
		-print -delete
