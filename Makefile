# Two commands matter: `make demo` (the local stack, sample receipts through every stage, the dashboard URL)
# and `make test` (the whole suite). Both install what they need first: Debian packages (as root), a venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAGE ?= prod
DEPS_STAMP := $(VENV)/.deps-$(shell cat requirements.txt requirements-dev.txt requirements-system.txt 2>/dev/null | sha1sum | cut -c1-12)
# The pages' browser libraries: `npm ci` from package-lock.json when node_modules is missing or the lock changed,
# then the files they serve copied into chalicelib/web/static/vendor/ (package.json's browserFiles).
NODE_STAMP := node_modules/.ci-$(shell cat package-lock.json 2>/dev/null | sha1sum | cut -c1-12)
VENDOR_FILES := $(addprefix chalicelib/web/static/vendor/,chart.umd.js axe.min.js)

.PHONY: deps test test-busy demo bench bench-dashboard package deploy lint clean

deps: $(DEPS_STAMP) $(VENDOR_FILES)

$(DEPS_STAMP):
	@missing=$$(for p in $$(grep -v '^\s*#' requirements-system.txt 2>/dev/null); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing Debian packages (install as root): $$missing" >&2; exit 1; fi; \
	fi
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.deps-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	@rm -f node_modules/.ci-* && touch $@

$(VENDOR_FILES) &: $(NODE_STAMP) $(DEPS_STAMP)
	$(PY) -m infra.web_vendor

# The suite runs in WORKERS processes (pytest-xdist; one per core, at most 4), each test file kept on one worker
# so a file's module-scoped stack starts once; WORKERS=0 runs it in this process.
WORKERS ?= $(shell n=$$(nproc); echo $$(( n > 4 ? 4 : n )))
PYTEST_PARALLEL := -n $(WORKERS) --dist loadfile

test: deps
	$(PY) -m pytest $(PYTEST_PARALLEL)

# The whole suite RUNS times in a row (default 3) while `stress-ng --cpu <cores>` keeps every CPU busy (stress-ng
# comes from requirements-system.txt via deps); prints each run's counts and duration, stops the hog, fails if any
# run failed. Timing luck that an idle machine hides shows here.
test-busy: deps
	$(PY) -m harness.busy --runs $(or $(RUNS),3) -- $(PYTEST_PARALLEL)

demo: deps
	$(PY) -m harness.demo

bench: deps
	$(PY) -m bench.e2e
	$(PY) -m bench.approval --claims $(or $(CLAIMS),200)
	$(PY) -m bench.generalisation --count 30
	$(PY) -m bench.ledger --claims 1000
	$(PY) -m bench.anomaly --seed 4242
	$(PY) -m bench.rephoto --seed 9000
	$(PY) -m bench.cost --claims $(or $(COST_CLAIMS),20)
	$(PY) -m bench.audit --records 100000
	@if [ -d ../shared/realdata/receipts/hk ]; then $(PY) -m bench.extraction --data ../shared/realdata/receipts/hk; \
	else echo "bench.extraction skipped: ../shared/realdata/receipts/hk is absent"; fi

# The finance dashboard at 100,000 claims (several minutes on moto, so not part of `make bench`): p50/p95 of the
# overview and the DynamoDB items it reads, beside a Scan's answer and items; fails unless they agree and the
# targets hold (CLAIMS=... for a smaller run)
bench-dashboard: deps
	$(PY) -m bench.dashboard --claims $(or $(CLAIMS),100000)

package: deps
	$(PY) -m infra.package --stage $(STAGE)

# One command per stage: `make deploy STAGE=dev|staging|prod [IMAGE_URI=... SCORING_IMAGE_URI=...] [DRY_RUN=1]`. Packages and runs every
# gate (residency guard, cfn-lint, Guard rules, secrets check), then deploys with the AWS credentials in the
# environment; with none (or DRY_RUN=1) it prints what it would do and changes nothing. README: "Deploy".
deploy: deps
	$(PY) -m infra.deploy --stage $(STAGE) $(if $(IMAGE_URI),--image-uri $(IMAGE_URI)) \
	  $(if $(SCORING_IMAGE_URI),--scoring-image-uri $(SCORING_IMAGE_URI)) \
	  $(if $(RECEIVING_DOMAIN),--receiving-domain $(RECEIVING_DOMAIN)) $(if $(DRY_RUN),--dry-run)

lint: deps
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build .pytest_cache node_modules chalicelib/web/static/vendor artifacts
