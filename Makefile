# Everything here needs only Go: modules are fetched on first use.
GO ?= go

.PHONY: demo test vet race bench

## demo: run the scripted catalogue against the reference agent; print a summary and the reports' path
demo:
	$(GO) run ./cmd/syncsim run all

## test: formatting, vet, race-checked unit tests, every package's tests, a short fuzz of the scenario decoder
test: vet race
	$(GO) test -count=1 ./...
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 5s ./scenarios/

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...

race:
	$(GO) test -count=1 -race ./agent/... ./model/...

## bench: the agent's figures (assignment speed, join convergence, handover, failover) and the checkers' speed; a few minutes
bench:
	$(GO) test -run XXX -bench . -benchtime=5x -benchmem ./agent/
	$(GO) test -run XXX -bench . -benchtime=3x ./model/
