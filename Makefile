# The two set-up commands of the README:  `make demo`  and  `make test`.
# Each creates the virtualenv it needs from pyproject.toml (the one place versions are pinned).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test unit lint venv mock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## the main job on the embedded default: mock server + local workers, every strategy, then the table
demo: $(STAMP)
	$(VENV)/bin/agentload demo

## install everything (the venv, the InfluxDB / VictoriaMetrics servers the tests start, the reference
## clients: Codex CLI, opencode, aider; the LiteLLM proxy for the gateway test) and run the whole test suite
## (what .ci/run calls), two test modules at a time: most of an e2e test's time is waiting on its processes
## (measured on the 2-core machine: 22.6 min in one process, 12.3 min in two; the tests hold on a busy machine)
test: $(STAMP)
	tests/install_services.sh
	tests/install_clients.sh $(VENV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q -rs -p no:cacheprovider -n 2 --dist loadfile tests/unit tests/e2e

## the fast in-process layer alone (seconds)
unit: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests/unit

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

mock: $(STAMP)
	$(VENV)/bin/agentload mock --port 8000

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
