# Two commands on a fresh machine:  make run   and   make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install browser oidc-provider lint bench demo

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

# Headless Chromium for the browser tests (Debian's package; Playwright uses it by path).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The OpenID provider that tests/test_oidc.py starts: npm's oidc-provider, as its lock file
# pins it (npm ci; again only when the lock file changes).
OIDC_MODULES := tests/oidc/node_modules/.package-lock.json
$(OIDC_MODULES): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $@

oidc-provider: $(OIDC_MODULES)

run: install
	$(BIN)/sagsgang run

# axe-core for the accessibility tests (package.json, package-lock.json); again only when
# the lock file changes.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: install browser oidc-provider node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
