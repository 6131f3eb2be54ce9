# The few commands a contributor needs. `make example` and `make test` are the
# README's two commands; both work on a fresh Debian 12 machine.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# Build dependencies of pystemd (published as source only), what the systemd
# test beds need, and what building the Debian package needs.
APT_PACKAGES := libsystemd-dev pkg-config gcc dbus systemd-container debootstrap git man-db \
	debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools python3-wheel

.PHONY: example test setup system-deps lint unit integration bench bed deb clean

example: setup
	@echo '$$ cd tests/fixtures/multi-service && smartrestart decide --root src --explain src/lib/auth.py docs/security.md'
	@cd tests/fixtures/multi-service && ../../../$(VENV)/bin/smartrestart decide \
		--config-root /nonexistent --root src --no-cache --explain src/lib/auth.py docs/security.md
	@echo '$$ ... the same, as a deploy script reads it (one action per line):'
	@cd tests/fixtures/multi-service && ../../../$(VENV)/bin/smartrestart decide \
		--config-root /nonexistent --root src --no-cache src/lib/auth.py docs/security.md
	@echo '$$ ... and what apply would do with it (--dry-run talks to no systemd):'
	@cd tests/fixtures/multi-service && ../../../$(VENV)/bin/smartrestart apply --dry-run \
		--config-root /nonexistent --root src --no-cache src/lib/auth.py docs/security.md

test: setup lint
	$(PY) -m pytest tests

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing: $$missing"; \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
		else \
			echo "missing Debian packages (run as root to install): $$missing" >&2; \
		fi; \
	fi

setup: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/decide_startup.py
	$(PY) bench/import_graph.py
	$(PY) bench/apply_restarts.py
	$(PY) bench/notify_send.py

# Boot a real systemd (Debian 12 host /usr; KIND=debian13 for systemd 257),
# open a shell in it, and remove it when the shell exits.
KIND ?= debian12
bed: setup
	@name=$$($(PY) -m tests.testbed boot $(KIND)) && \
		$(PY) -m tests.testbed shell $$name; $(PY) -m tests.testbed stop $$name

# The Debian package (packaging/debian), built from the working tree into dist/.
deb: system-deps
	mkdir -p dist
	packaging/build-deb dist

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
