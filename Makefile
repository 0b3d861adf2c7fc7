# Plinth: make targets. CI calls `make test` (through .ci/run).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
GO       ?= go
PKG      ?= ./...
T        ?=
RACE     ?= -race
TIMEOUT  ?= 20m
FUZZTIME ?= 20s
BENCHROUNDS ?= 5
STRESSCOUNT ?= 10
STRESSCPU  ?= 1,2,4
STRESSJOBS ?= 2
STRESSTIMEOUT ?= 120m

.PHONY: all build run test vet lint bench stress fuzz chaos fleet proto tidy clean

all: build

build:
	$(GO) build ./...

## run: build and start the demo agent (HTTP on :9191, an embedded etcd on
## 127.0.0.1:2379 unless etcd-server.conf moves it or ETCD_ENDPOINTS names one).
##   make run ARGS='-http-port 9292 -etcd-server-config my-etcd.conf'
run:
	$(GO) run ./examples/agent $(ARGS)

## test: vet plus the whole test suite with the race detector.
##   make test PKG=./agent/ T=TestFlags   runs one test
test: vet
	$(GO) test $(RACE) -count=1 -timeout $(TIMEOUT) $(if $(T),-run '$(T)') $(PKG)

## vet: gofmt and go vet of both modules (the benchmarks must keep compiling),
## and the tests of the ratios tool.
vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKG)
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./cmd/...

## lint: vet, gofmt, go.mod tidiness, the layer check (internal/layers),
## the build and vet for macOS and Windows (Linux-only parts have build
## constraints and portable fallbacks), and staticcheck.
STATICCHECK ?= v0.8.2
lint: vet
	$(GO) mod tidy -diff
	$(GO) test -count=1 ./internal/layers/
	cd bench && $(GO) mod tidy -diff
	for os in darwin windows; do GOOS=$$os $(GO) build ./... && GOOS=$$os $(GO) vet ./... || exit 1; done
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK) ./...

## bench: side-by-side comparisons with peers, the sides interleaved for
## BENCHROUNDS rounds; prints `ratio <name> <median> (<min>–<max>, n=N)` lines.
##   make bench B=Kvdb BENCHROUNDS=9   runs only the matching benchmarks
bench:
	cd bench && BENCHROUNDS=$(BENCHROUNDS) $(GO) test -run '^$$' -bench '$(or $(B),.)' -benchmem -count 1 -timeout 90m ./... | tee bench.txt
	cd bench && $(GO) run ./cmd/ratios < bench.txt

## stress: every package's tests, -count STRESSCOUNT for each -cpu value in
## STRESSCPU, with the race detector while busy loops keep every core busy;
## ends with a table of package, runs and failures (non-zero on any failure).
##   make stress PKG=./idxmap/... STRESSCOUNT=20
stress:
	PKGS='$(PKG)' COUNT=$(STRESSCOUNT) CPUS=$(STRESSCPU) JOBS=$(STRESSJOBS) TIMEOUT=$(STRESSTIMEOUT) GO=$(GO) bash .ci/stress

## fuzz: run every fuzz target for FUZZTIME, then print a summary table;
## corpora live under each package's testdata/fuzz/FuzzX.
fuzz:
	@rows=$$(mktemp); out=$$(mktemp); trap 'rm -f $$rows $$out' EXIT; failed=0; mod=$$($(GO) list -m); \
	for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; start=$$(date +%s); \
	    if $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1 | tee $$out; then res=ok; else res=FAIL; failed=1; fi; \
	    execs=$$({ grep -o 'execs: [0-9]*' $$out || true; } | tail -n 1 | cut -d' ' -f2); \
	    printf '%s\t%s\t%s\t%s\t%s\n' "$$f" "$${pkg#$$mod/}" "$$(( $$(date +%s) - start ))" "$${execs:--}" "$$res" >> $$rows; \
	  done; \
	done; \
	echo; echo "fuzz summary (FUZZTIME=$(FUZZTIME); seconds include the build)"; \
	{ printf 'TARGET\tPACKAGE\tSECONDS\tEXECS\tRESULT\n'; cat $$rows; } | \
	  awk -F'\t' '{ r[NR] = $$0; for (i = 1; i <= NF; i++) if (length($$i) > w[i]) w[i] = length($$i) } \
	    END { for (n = 1; n <= NR; n++) { split(r[n], c, "\t"); printf "%-*s  %-*s  %*s  %*s  %s\n", w[1], c[1], w[2], c[2], w[3], c[3], w[4], c[4], c[5] } }'; \
	exit $$failed

## chaos: the end-to-end fault suite with many rounds per scenario (etcd and
## the demo agent killed and restarted), then its summary table of figures.
chaos:
	FAULTSUITE_LONG=1 $(GO) test -count=1 -v -timeout $(TIMEOUT) ./internal/faultsuite/

## fleet: 1,000 agents (FLEET_N to change) against a 3-member etcd cluster:
## writes, keepalives, change -> watcher delays, memory, a member killed, a
## wiped store. Prints a table and "fleet <figure> <value> <unit>" lines.
FLEET_N ?= 1000
fleet:
	FLEET=1 FLEET_N=$(FLEET_N) $(GO) test -count=1 -v -timeout $(TIMEOUT) -run 'TestFleet$$' ./internal/fleetsim/

## proto: regenerate committed protobuf code (needs protoc and protoc-gen-go).
proto:
	@files=$$(git ls-files '*.proto'); \
	if [ -z "$$files" ]; then echo "no .proto files"; exit 0; fi; \
	for f in $$files; do protoc -I . --go_out=. --go_opt=paths=source_relative $$f; done

tidy:
	$(GO) mod tidy
	cd bench && $(GO) mod tidy

clean:
	rm -rf .plinth
