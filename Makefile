# Two commands matter: `make run` (the server on :7071 with Azurite) and
# `make test` (everything CI runs). Both install what they need.

SHELL := /bin/bash
BIN := snippets-mcp
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/snippets-mcp/server/handler.Version=$(VERSION)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: run test build tools tools-run inspect help vet fuzz bench soak stage clean

## run: Azurite, the local token issuer and the server on 127.0.0.1:7071 in jwt mode; prints
## tokens for a writer, an approver and an app-only agent (AUTH=dev: one identity, no approvals;
## MCP_AUTH_MODE/MCP_AUTH_ISSUER already set are used as they are)
run: tools-run build
	@AUTH=$(AUTH) ./scripts/run-local.sh

## test: vet, unit and end-to-end tests (race detector on), short fuzz runs; the offline
## infra checks, a module of their own (infra/go.mod: cgo, tree-sitter), after the server's
test: tools vet
	$(GO) test -race -count=1 -timeout 25m ./...
	cd infra && $(GO) test -race -count=1 -timeout 25m ./...
	cd bench && $(GO) test -race -count=1 -timeout 10m ./...
	$(MAKE) --no-print-directory fuzz

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

## tools: install every pinned npm tool: what `make run` needs plus the MCP conformance suite
tools: node_modules/.installed

## tools-run: install only what `make run` needs: package.json's dependencies (Azurite, MCP
## Inspector, Node 22 to run them), not its devDependencies (the conformance suite)
tools-run: node_modules/.installed-run

# npm ci empties node_modules first, so each stamp lives inside it; a full
# install also satisfies the run set.
node_modules/.installed: package.json package-lock.json
	@echo "npm: installing the pinned tools for the tests (Azurite, MCP Inspector, the MCP conformance suite, Node 22); the first time takes a few minutes"
	npm ci --no-audit --no-fund
	@touch $@ node_modules/.installed-run

node_modules/.installed-run: package.json package-lock.json
	@if [ node_modules/.installed -nt package.json ] && [ node_modules/.installed -nt package-lock.json ]; then touch $@; else \
	  echo "npm: installing what make run needs (Azurite, MCP Inspector, Node 22 to run them; make test adds the conformance suite); the first time takes a few minutes"; \
	  echo "npm ci --omit=dev --no-audit --no-fund"; npm ci --omit=dev --no-audit --no-fund && touch $@; fi

## inspect: MCP Inspector for the local server: ARGS='--method tools/list' runs the CLI (AS=writer,
## approver or agent adds that `make run` token); without ARGS it opens the web UI. From any
## folder: make -C <this repo> inspect ARGS=...
inspect: tools-run
	@AS=$(AS) ./scripts/inspect.sh $(ARGS)

## help: list the targets and what they do
help:
	@awk -f scripts/help.awk $(MAKEFILE_LIST)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	cd infra && $(GO) vet ./...
	cd bench && $(GO) vet ./...

## fuzz: short runs of every fuzz target (FUZZTIME=5m for a longer run)
FUZZTIME ?= 8s
fuzz:
	@./scripts/fuzz.sh $(FUZZTIME)

## stage: the package azd deploys, built as azd builds it (`go build -o app .`,
## linux/amd64, CGO off): stage/ and stage.zip with app (0755) and host.json
stage:
	$(GO) run ./cmd/azdstage

clean:
	rm -rf $(BIN) app stage stage.zip .azurite

## bench: the server against bare mcp-go, the official Go SDK and the official TypeScript SDK
## (stateless echo servers), measured in the same run on loopback: overhead at 8 and 64
## connections, storage path, cold start, memory (a few minutes); report in bench/results/
BENCH_FLAGS ?=
bench: tools
	cd bench && BENCH=1 $(GO) test -count=1 -run '^TestBench$$' -timeout 60m -v $(BENCH_FLAGS) .

## soak: the long reliability forms: SOAK_DURATION (10m) of mixed load with error rate,
## p99 and memory drift (report in bench/results/soak-latest.md), and the 30 s slow-body cut
SOAK_DURATION ?= 10m
soak: tools
	SOAK=1 SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -run '^(TestSoak|TestSlowBodyCut)$$' -timeout 40m -v ./e2e
