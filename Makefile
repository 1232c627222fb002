# The two commands a developer needs: `make run` (the whole product locally) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint run demo build bench clean

$(STAMP): requirements-dev.txt layers/payment_links/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest --cov --cov-report=term:skip-covered -q

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

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(ARGS)

clean:
	rm -rf $(VENV) .venv-sam .aws-sam .pytest_cache .coverage
