# The two commands that matter are `make run` and `make test`; both set everything up first.
# The newest CPython >= 3.11 on the machine (make bench: newer runs this server faster);
# `make PYTHON=python3.11 ...` chooses one.
PYTHON ?= $(shell bash scripts/find-python.sh)
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
# The venv is rebuilt when the interpreter changes, not only when the lock does.
PY_VERSION := $(shell $(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null)
STAMP  := $(VENV)/.installed-$(PY_VERSION)
FERRETDB_VERSION := v1.24.2

.PHONY: setup run test lint bench clean system-deps python-deps db-server web-deps lock audit

setup: system-deps python-deps db-server web-deps

# Debian packages the tests need (redis-server, chromium); installs them when missing and we are root.
system-deps:
	@bash scripts/system-deps.sh

# Every Python package comes from requirements.lock, pinned with hashes (a tampered or
# substituted file fails the install). The project itself is not installed: every command
# runs from the repository (`python -m server`). After editing pyproject.toml: `make lock`.
python-deps: $(STAMP)
$(STAMP): $(LOCK)
	@test -n "$(PY_VERSION)" || { echo "no usable Python (PYTHON=$(PYTHON))" >&2; exit 1; }
	@if [ -x $(BIN)/python ] && [ "$$($(BIN)/python -c 'import platform; print(platform.python_version())')" != "$(PY_VERSION)" ]; then \
		echo "rebuilding $(VENV) for Python $(PY_VERSION)"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	rm -f $(VENV)/.installed*
	touch $@

# Regenerates requirements.lock from pyproject.toml (runtime + dev extras, every Python
# from 3.11 up, with hashes). Needs the package index; commit the result.
lock:
	SSL_CERT_FILE=$${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt} $(BIN)/uv pip compile pyproject.toml \
		--extra dev --universal --python-version 3.11 --generate-hashes --quiet --no-header -o $(LOCK)

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

test: setup lint audit
	node --test tests/web/
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: python-deps
	$(BIN)/ruff check server moderation bench tests
	$(BIN)/ruff format --check server moderation bench tests
	$(BIN)/mypy server moderation

# Known vulnerabilities fail; an unreachable advisory service only warns (scripts/audit_deps.py).
audit: python-deps web-deps
	$(BIN)/python scripts/audit_deps.py

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .bin node_modules var test-artifacts
