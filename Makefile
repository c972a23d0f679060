# Two commands matter: `make run` (the server on :7071 with Azurite) and
# `make test` (everything CI runs). Both install what they need.

SHELL := /bin/bash
BIN := snippets-mcp
GO ?= go
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/snippets-mcp/server/handler.Version=$(VERSION)
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: run test build tools vet fuzz bench soak stage clean

## run: start Azurite and the handler on 127.0.0.1:7071 in dev auth mode (AUTH=jwt for tokens)
run: tools build
	@AUTH=$(AUTH) ./scripts/run-local.sh

## test: vet, unit and end-to-end tests (race detector on), short fuzz runs
test: tools vet
	$(GO) test -race -count=1 -timeout 25m ./...
	$(MAKE) --no-print-directory fuzz

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) .

## tools: install the pinned npm tools (Azurite, MCP Inspector, conformance suite, Node 22)
tools: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...

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

## bench: framework overhead, storage path, cold start and memory against baselines
## measured in the same run, on loopback (a few minutes); report in bench/results/
BENCH_FLAGS ?=
bench: tools
	BENCH=1 $(GO) test -count=1 -run '^TestBench$$' -timeout 30m -v $(BENCH_FLAGS) ./bench

## soak: the long reliability forms: SOAK_DURATION (10m) of mixed load with error rate,
## p99 and memory drift (report in bench/results/soak-latest.md), and the 30 s slow-body cut
SOAK_DURATION ?= 10m
soak: tools
	SOAK=1 SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -run '^(TestSoak|TestSlowBodyCut)$$' -timeout 40m -v ./e2e
