# Strikebook developer commands. Every target installs what it needs first, idempotently:
# a second `make test` skips the install steps.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
FORGE := $(CURDIR)/node_modules/.bin/forge
FORGE_STAMP := contracts/out/.built
SOL_SOURCES := $(shell find contracts/src contracts/test -name '*.sol' 2>/dev/null) contracts/foundry.toml
PYTEST_ARGS ?=
DEMO_ARGS ?=

.PHONY: help install build lint test test-py test-contracts bench demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

$(PY_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# `npm ci` refuses this lock file: the tools list optional platform packages (darwin-amd64,
# linux-arm64) that the registry does not serve, so the lock cannot name them. `npm install`
# with the committed lock installs the same pinned versions and skips the missing optionals.
$(NODE_STAMP): package.json package-lock.json
	npm install --no-save --no-audit --no-fund --loglevel=error
	touch $@

$(FORGE_STAMP): $(NODE_STAMP) $(SOL_SOURCES)
	cd contracts && $(FORGE) build
	touch $@

install: $(PY_STAMP) $(NODE_STAMP) ## create .venv and node_modules

build: install $(FORGE_STAMP) ## install, then compile the contracts with forge

lint: build ## ruff, mypy and slither
	$(BIN)/ruff check .
	$(BIN)/mypy
	@# slither drives its own `forge clean && forge build`: give it separate output dirs so it
	@# never wipes the artifacts that tests and other targets use.
	cd contracts && PATH="$(CURDIR)/node_modules/.bin:$$PATH" FOUNDRY_OUT=out-slither FOUNDRY_CACHE_PATH=cache-slither \
		../$(BIN)/slither . --compile-force-framework foundry --foundry-out-directory out-slither \
		--filter-paths 'node_modules|test' --exclude-dependencies --fail-medium

test-contracts: build ## forge unit, fuzz and invariant tests (FOUNDRY_PROFILE=ci for the long run)
	cd contracts && $(FORGE) test

test-py: build ## pytest against real Anvil, Ganache and PostgreSQL
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint test-contracts test-py ## everything CI runs: lint, forge test, pytest

bench: build ## run every benchmark, print one table, write bench/results.json
	$(BIN)/python scripts/bench.py

demo: build ## the whole venue end to end in about a minute (options: make demo DEMO_ARGS=--help)
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

clean: ## remove build outputs (keeps .venv and node_modules)
	rm -rf contracts/out contracts/cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
