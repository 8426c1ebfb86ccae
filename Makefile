# The two commands that matter are `make run` and `make test`; both set everything up first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
FERRETDB_VERSION := v1.24.2

.PHONY: setup run cluster test lint bench clean system-deps python-deps db-server web-deps

setup: system-deps python-deps db-server web-deps

# Debian packages the tests need (redis-server, haproxy, chromium); installs them when missing and we are root.
system-deps:
	@bash scripts/system-deps.sh

python-deps: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The local MongoDB-protocol server: mongod when on PATH, else FerretDB built once into .bin/.
db-server:
	@if command -v mongod >/dev/null 2>&1; then \
		echo "using mongod from PATH"; \
	elif [ -x .bin/ferretdb ] && [ "$$(cat .bin/ferretdb.build 2>/dev/null)" = "$(FERRETDB_VERSION)+id-index" ]; then \
		true; \
	elif command -v go >/dev/null 2>&1; then \
		echo "building FerretDB $(FERRETDB_VERSION) (with the _id index fix) into .bin/ (once, about a minute)"; \
		bash scripts/build-ferretdb.sh $(FERRETDB_VERSION) .bin/ferretdb; \
	else \
		echo "Need a MongoDB-protocol server: put mongod on PATH, or install Go (https://go.dev/dl/) so FerretDB can be built, or set MONGODB_URI." >&2; \
		exit 1; \
	fi

web-deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: setup
	SEED_DEMO=$${SEED_DEMO:-1} $(BIN)/python -m server

# Two server processes behind HAProxy, with Redis and the local database (server/cluster.py).
cluster: setup
	SEED_DEMO=$${SEED_DEMO:-1} $(BIN)/python -m server.cluster

test: setup lint
	node --test tests/web/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: python-deps
	$(BIN)/ruff check server moderation bench tests
	$(BIN)/ruff format --check server moderation bench tests
	$(BIN)/mypy server moderation

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .bin node_modules var test-artifacts
