# Taktflow: `make run` starts the app with demo data, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BETSY ?= ../shared/conformance/betsy
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test conformance bench lint assets clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip 2>&1 | grep -v "WARNING: Location" || true
	$(BIN)/pip install -q -e '.[test]' 2>&1 | grep -v "WARNING: Location" || true
	$(BIN)/python -c "import taktflow.cli"
	touch $@

web/static/vendor/htmx.min.js: package.json package-lock.json scripts/assets.sh
	scripts/assets.sh

assets: web/static/vendor/htmx.min.js

run: $(VENV)/.installed assets
	TAKTFLOW_DATABASE_URL=$${TAKTFLOW_DATABASE_URL:-sqlite:///taktflow.db} $(BIN)/taktflow serve --demo --host $(HOST) --port $(PORT)

test: $(VENV)/.installed assets
	scripts/test.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

conformance: $(VENV)/.installed
	$(BIN)/taktflow conformance betsy $(BETSY)

bench: $(VENV)/.installed
	scripts/bench.sh

clean:
	rm -rf $(VENV) node_modules web/static/vendor test-output taktflow.db taktflow.db-wal taktflow.db-shm
