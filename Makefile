# Everything here needs only Go: modules are fetched on first use.
GO ?= go

.PHONY: demo test test-packages fuzz test-browser vet race bench explore mutants soak simwork determinism

# The harness built once per make run, so exit codes pass through (go run
# turns every failure into exit status 1).
SYNCSIM := $(CURDIR)/.bin/syncsim
EXPLORE_TIME ?= 2m
DURATION ?= 10m
MUTANT_EXPLORE ?= 30
MUTANT_REPLAY ?= 20
# The clock of explore, soak and mutants: sim (simulated, in memory) or real.
CLOCK ?= sim

# The simulated clock needs etcd with a peer dial hook: internal/etcdpatch
# copies that module out of the module cache, patches it (one line, one
# file) and writes a go.work that uses it. Builds with it set GOWORK and
# -tags simclock; every other build uses etcd as released.
SIMWORK := $(CURDIR)/.bin/simclock/go.work
SIMGO := GOWORK=$(SIMWORK) $(GO)

## demo: run the scripted catalogue against the reference agent; print a summary and the reports' path
demo:
	$(GO) run ./cmd/syncsim run all

## test: formatting, vet, race-checked unit tests, every package's tests (scenarios on the simulated
## clock; the Session.Done() catch and the quick mutant kills on the real one), a short fuzz of the
## scenario decoder and the history reader
# The four parts run at once, each one's output kept together: much of the time goes to waiting
# (compiling a mutant, a real-clock scenario's TTLs), which another part fills.
test: simwork
	@$(MAKE) --no-print-directory -j 4 --output-sync=target vet race test-packages fuzz

# The race run covers agent/ and model/, so this run leaves them out. -parallel 8: the
# real-clock tests that run after the simulated ones mostly wait on time, not the CPU.
test-packages: simwork
	SYNCSIM_CLOCK=sim $(SIMGO) test -tags simclock -count=1 -parallel 8 $$($(GO) list ./... | grep -v -e /syncsim/agent -e /syncsim/model)

# A count, not a time: with -fuzztime 5s the fuzzer stalled after ~50 execs and once ended with
# "context deadline exceeded", failing make test; 2000 inputs take ~1.5 s.
fuzz:
	$(GO) test -run XXX -fuzz FuzzDecode -fuzztime 2000x ./scenarios/ && $(GO) test -run XXX -fuzz FuzzReadHistory -fuzztime 2000x ./model/

## test-browser: render the index and a failing run's pages in headless Chromium (Debian's
## chromium: apt-get install -y chromium) and check what a person must see; screenshots are
## saved under syncsim-reports/browser-test. make test runs it too whenever Chromium is present.
test-browser:
	SYNCSIM_BROWSER=required $(GO) test -count=1 -run TestReportsInABrowser -v ./reports/

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory simwork
	$(SIMGO) vet -tags simclock ./...

simwork:
	@$(GO) run ./internal/etcdpatch/prepare .bin/simclock >/dev/null

race:
	$(GO) test -count=1 -race ./agent/... ./model/...

## bench: the agent's figures (assignment speed, join convergence, handover, failover), the checkers'
## speed, and writing and drawing a 100,000-operation report; a few minutes
bench:
	$(GO) test -run XXX -bench . -benchtime=5x -benchmem ./agent/
	$(GO) test -run XXX -bench . -benchtime=3x ./model/
	$(GO) test -run XXX -bench . -benchtime=3x ./reports/

## explore: a short campaign. First the planted Session.Done() bug must be found and shrunk
## (or replayed), which proves exploration bites; then the reference agent must survive
## EXPLORE_TIME (default 2m) of drawn scenarios with no violation.
explore: $(SYNCSIM)
	@$(SYNCSIM) explore --clock $(CLOCK) --mutant session-done --duration $(EXPLORE_TIME); code=$$?; \
	if [ $$code -ne 1 ]; then echo "make explore: the Session.Done() agent was not caught (exit $$code)"; exit 1; fi
	$(SYNCSIM) explore --clock $(CLOCK) --duration $(EXPLORE_TIME)

## mutants: build syncsim with each planted bug of scenarios/mutants and run it over the catalogue,
## then MUTANT_EXPLORE (30) drawn scenarios, until a run fails, and runs the killing scenario
## MUTANT_REPLAY (20) times again; the reference agent runs the same in full. Prints the kill table;
## fails if a mutant survives or the reference agent is accused. CLOCK=real for the fidelity
## mode (about 12 minutes; MUTANT_REPLAY=0 keeps it so).
mutants: $(SYNCSIM)
	$(SYNCSIM) mutants --clock $(CLOCK) --explore $(MUTANT_EXPLORE) --replay $(MUTANT_REPLAY)

## soak: the reference agent under exploration for DURATION (default 10m), in JOBS (2) processes
## that split one campaign (explore --shard i/JOBS: a simulated run takes a process of its own);
## prints each shard's scenarios, violations (must be 0) and slowest check, and fails if any
## shard found a violation or could not decide.
JOBS ?= 2
soak: $(SYNCSIM)
	@seed=$$(date +%s); status=0; pids=""; \
	echo "soak: $(JOBS) shards of seed $$seed, $(DURATION), clock $(CLOCK); shard logs in .bin/soak-*.log"; \
	for i in $$(seq 1 $(JOBS)); do \
	  $(SYNCSIM) explore --clock $(CLOCK) --seed $$seed --shard $$i/$(JOBS) --duration $(DURATION) --keep-going > .bin/soak-$$i.log 2>&1 & pids="$$pids $$!"; \
	done; \
	for p in $$pids; do wait $$p || status=1; done; \
	grep -h '^summary' .bin/soak-*.log; exit $$status

## determinism: run SEEDS (20) drawn scenarios twice each on the simulated clock and say where
## each pair's etcd revision sequences first differ
SEEDS ?= 20
# On one P, as the simulated clock's binary runs (GOMAXPROCS set in the environment wins).
determinism: simwork
	GOMAXPROCS=$${GOMAXPROCS:-1} SYNCSIM_DETERMINISM=$(SEEDS) $(SIMGO) test -tags simclock -count=1 -run TestDeterminism -v ./scenarios/

.PHONY: $(SYNCSIM)
$(SYNCSIM):
	$(GO) build -o $@ ./cmd/syncsim
