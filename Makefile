# The two commands a developer needs: `make run` (the whole product locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv browser e2e test test-fast coverage lint check-template run demo build bench mutants clean

$(STAMP): requirements-dev.txt layers/payment_links/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Debian's headless Chromium for the one browser test (no-op when it is already installed).
browser:
	bash .ci/setup-browser.sh

# Every suite, spread over pytest-xdist workers. More workers than this machine's 2 cores pays: many tests wait on
# sockets, retries and timeouts rather than the CPU (docs/testing.md has the measurements).
TEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist worksteal

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -q

# The edit loop: unit, function and template tests (no servers, no browser), in about a minute.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist worksteal -q tests/unit tests/functions tests/template

# The whole suite with line coverage of the layer and the functions (about a third slower than `make test`).
coverage: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_PARALLEL) -q --cov --cov-report=term:skip-covered

e2e: $(STAMP) browser
	$(BIN)/python -m pytest -m e2e -q

CHECKOV_STAMP := .venv-checkov/.installed
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

# Offline deployability checks: cfn-lint, checkov (no network), and our own rules over the translated template.
check-template: $(STAMP) $(CHECKOV_STAMP)
	$(BIN)/cfn-lint template.yaml
	BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false .venv-checkov/bin/checkov --config-file .checkov.yaml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

run: $(STAMP)
	$(BIN)/python -m local.stack $(ARGS)

demo: $(STAMP)
	$(BIN)/python -m local.demo $(ARGS)

# SAM CLI pins its own dependency versions, so it lives in a virtual environment of its own.
SAM_STAMP := .venv-sam/.installed
$(SAM_STAMP):
	test -x .venv-sam/bin/python || $(PYTHON) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet aws-sam-cli
	touch $(SAM_STAMP)

build: $(SAM_STAMP)
	.venv-sam/bin/sam build $(ARGS)

# Remove each reliability mechanism in turn; the test that proves it must fail (docs/reliability.md). Minutes.
mutants: $(STAMP)
	$(BIN)/python -m tests.reliability.mutation_check

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .venv-sam .venv-checkov .aws-sam .pytest_cache .coverage
