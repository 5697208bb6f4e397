# Taktflow: `make run` starts the app with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BETSY ?= $(or $(TAKTFLOW_BETSY_DIR),../shared/conformance/betsy)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test conformance bench lint assets clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v "WARNING: Location" || true
	$(BIN)/pip install -q -e '.[test]' 2>&1 | grep -v "WARNING: Location" || true
	$(BIN)/python -c "import taktflow.cli"
	touch $@

web/static/vendor/htmx.min.js: package.json package-lock.json scripts/assets.sh web/static/src/modeler.js
	scripts/assets.sh

assets: web/static/vendor/htmx.min.js

run: $(VENV)/.installed assets
	TAKTFLOW_DATABASE_URL=$${TAKTFLOW_DATABASE_URL:-sqlite:///taktflow.db} $(BIN)/taktflow serve --demo --simulate-plant --host $(HOST) --port $(PORT)

test: $(VENV)/.installed assets
	TAKTFLOW_BETSY_DIR=$(BETSY) scripts/test.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

# The gate: at least 95 % of betsy's execution cases pass and every one of its invalid models is refused
# naming the rule they break (docs/bpmn-support.md lists what the engine does with each element).
conformance: $(VENV)/.installed
	$(BIN)/taktflow conformance betsy $(BETSY) --min-pass-rate 0.95 --min-refused-rate 1.0

bench: $(VENV)/.installed
	scripts/bench.sh

clean:
	rm -rf $(VENV) node_modules web/static/vendor test-output taktflow.db taktflow.db-wal taktflow.db-shm
