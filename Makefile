# Crewboard: `make demo` sets everything up and runs the demo; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

export QT_QPA_PLATFORM ?= offscreen
export QTWEBENGINE_CHROMIUM_FLAGS ?= --no-sandbox --disable-gpu
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test test-dates test-loaded lint typecheck unit system-deps bench soak clean lock lock-upgrade package package-test

# The virtualenv holds exactly what requirements.lock names (every file checked against its hash),
# then Crewboard itself, editable, with no dependency resolved on the day. scripts/check-lock first
# refuses, in one sentence, a lock that does not cover pyproject.toml.
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Crewboard needs Python 3.11 or newer; '$(PYTHON)' is older. Run: make PYTHON=python3.11 ..." >&2; exit 1; }
	@$(PYTHON) scripts/check-lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Lock what pyproject.toml newly asks for, keeping every version already locked (one command; commit
# requirements.lock after it).
lock:
	PYTHON=$(PYTHON) scripts/lock

# The scheduled refresh: every dependency to the newest version pyproject allows, reinstalled, then
# the whole suite. Commit requirements.lock when it passes.
lock-upgrade: system-deps
	PYTHON=$(PYTHON) scripts/lock --upgrade
	$(MAKE) test

# The Linux desktop bundle (PyInstaller, one folder) as dist/crewboard-VERSION-linux-ARCH.tar.gz and
# a .deb, built from the locked virtualenv. CPU-heavy (several minutes): not part of `make test`.
package: $(STAMP)
	scripts/package $(BIN)

# The bundle run as on a machine with no Python (env -i, offscreen): --version, a CLI round trip,
# the demo for 20 s with its techs synced; then its size.
package-test: system-deps package
	scripts/package-test

system-deps:
	@scripts/system-deps

demo: system-deps $(STAMP)
	QT_QPA_PLATFORM= $(BIN)/crewboard demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	CREWBOARD_REQUIRE_KEYRING=1 scripts/with-secret-service $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test: system-deps $(STAMP) lint typecheck unit

# The suite with the clock moved by libfaketime: 400 days ahead, the next US spring-forward morning,
# and 23:30 on 31 December in Honolulu (TEST_DATES="ahead" for one of them).
test-dates: system-deps $(STAMP)
	scripts/test-dates $(TEST_DATES)

# The suite pinned to one core beside a busy loop on the other, RUNS times in a row (default 5).
test-loaded: system-deps $(STAMP)
	scripts/test-loaded $(RUNS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

# Latency, cost and scale figures against the sandbox on loopback (not part of `make test`).
# BENCH_OUT names the JSON file (default bench-results.json); BENCH_ARGS e.g. "--only availability board".
bench: system-deps $(STAMP)
	CREWBOARD_REQUIRE_KEYRING=1 scripts/with-secret-service $(BIN)/python -m tests.bench $(BENCH_ARGS)

# The soak (not part of `make test`): ten techs on both providers, random dispatch and phone edits,
# ~20% injected faults and a sync process SIGKILLed at least 30 times; bounded at 10 minutes.
# SOAK_ARGS e.g. "--seed 123 --seconds 120".
soak: system-deps $(STAMP)
	CREWBOARD_REQUIRE_KEYRING=1 timeout --signal=TERM --kill-after=15 600 \
		scripts/with-secret-service $(BIN)/python -m tests.soak $(SOAK_ARGS)
