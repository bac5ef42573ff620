# Plugboard: `make run` starts the server, `make test` runs the whole suite. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Front-end files from npm, pinned by web-assets/package-lock.json and copied into the package's
# static folder: Swagger UI for /docs and htmx for the console. Built, never committed, never
# loaded from a CDN. axe-core stays in web-assets/node_modules: only the browser tests use it.
WEB_ASSETS := web-assets
STATIC := src/plugboard/server/web/static
SWAGGER_UI := $(STATIC)/swagger-ui
SWAGGER_FILES := swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE
HTMX := $(STATIC)/htmx
HTMX_FILES := dist/htmx.min.js LICENSE
WEB_STAMP := $(STATIC)/.built-stamp

INTEROP := tests/interop/oauth2_mock_server
INTEROP_STAMP := $(INTEROP)/node_modules/.installed-stamp

.PHONY: install run test lint format bench bench-scale clean interop-deps docs web-assets browser-deps console-url

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[server,postgres,dev]'
	@touch $(STAMP)

install: $(STAMP) web-assets  ## create .venv and install Plugboard with every extra

run: $(STAMP) web-assets console-url  ## initialize ~/.plugboard if new (printing the first login), then serve with the demo provider
	$(BIN)/plugboard init --if-new
	$(BIN)/plugboard serve --demo

# Two workers per core: many tests wait on servers and processes they start, and a second
# worker per core fills those waits (clean clone on 2 cores: 11 min 26 s with 2, 9 min 42 s with 4).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))

test: lint interop-deps web-assets browser-deps  ## lint, then the whole suite on SQLite and PostgreSQL (two workers per core; an idle worker takes tests from a busy one)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

web-assets: $(WEB_STAMP)

# --ignore-scripts: the package's dependency would phone home from an install script.
$(WEB_STAMP): $(WEB_ASSETS)/package.json $(WEB_ASSETS)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(WEB_ASSETS) --ignore-scripts --no-audit --no-fund --loglevel=error && \
		mkdir -p $(SWAGGER_UI) $(HTMX) && \
		for f in $(SWAGGER_FILES); do cp $(WEB_ASSETS)/node_modules/swagger-ui-dist/$$f $(SWAGGER_UI)/ || exit 1; done && \
		for f in $(HTMX_FILES); do cp $(WEB_ASSETS)/node_modules/htmx.org/$$f $(HTMX)/ || exit 1; done && \
		touch $@; \
	else \
		echo "npm not found: /docs says Swagger UI is not built and the console runs without htmx (their tests fail under CI=true)"; \
	fi

# The browser tests drive Debian's chromium with Playwright (a dev dependency; never a downloaded
# browser). .ci/run installs chromium when it is missing; here we only say what is absent.
browser-deps: $(STAMP) web-assets
	@command -v chromium >/dev/null 2>&1 || \
		echo "chromium not found (apt-get install chromium): tests/browser is skipped (fails under CI=true)"

console-url:
	@echo "Console: $${PLUGBOARD_BASE_URL:-http://127.0.0.1:8000}/console (log in with the e-mail and password that the first plugboard init prints)"

# oauth2-mock-server (npm), the independent OAuth 2 server of the interop tests, pinned by its
# package-lock.json and installed into a local folder.
interop-deps: $(INTEROP_STAMP)

$(INTEROP_STAMP): $(INTEROP)/package.json $(INTEROP)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm not found: the oauth2-mock-server interop test will be skipped (fails under CI=true)"; \
	fi

lint: $(STAMP)  ## ruff (lint and format check), mypy strict, import-linter (the layer contract)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(STAMP)  ## benchmarks against a baseline measured in the same run (all run; exits 1 naming those that missed a target)
	@ls bench/[!_]*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	@missed=""; for b in bench/[!_]*.py; do [ "$$b" = bench/scale.py ] && continue; echo "== $$b"; \
		$(BIN)/python $$b || missed="$$missed $$b"; done; \
		if [ -n "$$missed" ]; then echo "missed a target:$$missed"; exit 1; fi

SIZES ?= 10000,100000
bench-scale: $(STAMP)  ## every list/detail, revoke and the CLI listing at 10k and 100k authorizations on PostgreSQL (minutes; SIZES=10000,100000,1000000; SCALE_DB=name keeps one size's database for the next run)
	$(BIN)/python bench/scale.py --sizes $(SIZES) $(if $(SCALE_DB),--database $(SCALE_DB))

docs: $(STAMP)  ## regenerate docs/permissions.md and the README's configuration table
	$(BIN)/python -c "from plugboard.domain.permissions import render_markdown as r; print(r(), end='')" > docs/permissions.md
	$(BIN)/python -m plugboard.settings_doc README.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info $(INTEROP)/node_modules \
		$(WEB_ASSETS)/node_modules src/plugboard/server/web/static
