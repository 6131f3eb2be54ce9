# The few commands a contributor needs. `make example` and `make test` are the
# README's two commands; both work on a fresh Debian 12 machine.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# What `make setup` needs: Debian's python3 lacks venv (python3-venv) and the
# headers that building pystemd (published as source only) needs (python3-dev);
# another python3 (pyenv, a local build) brings both itself.
PYTHON_PATH := $(shell command -v $(PYTHON))
SETUP_PACKAGES := $(if $(filter-out /usr/bin/% /bin/%,$(PYTHON_PATH)),,python3 python3-venv python3-dev) \
	gcc pkg-config libsystemd-dev
# What the systemd test beds, building the Debian packages, linting them and drawing graphs need.
# dbus-user-session: the Debian 12 bed (the host's /usr) runs a lingering user's manager.
EXTRA_PACKAGES := dbus dbus-user-session systemd-container debootstrap git man-db graphviz \
	debhelper dh-python pybuild-plugin-pyproject python3-all python3-setuptools python3-wheel \
	python3-click python3-yaml lintian

.PHONY: example test setup system-deps lint ansible-sanity unit integration bench bed deb example-debs lintian clean mutation

# Each command is printed as a user would type it (see the README's tour), then run.
show = echo '$$ $(1)' && $(1)
example: setup
	@echo '$$ . $(VENV)/bin/activate' && . $(VENV)/bin/activate && \
	$(call show,cd tests/fixtures/multi-service) && \
	$(call show,smartrestart decide --root src --explain src/lib/auth.py docs/security.md) && \
	echo '# the same, as a deploy script reads it (one action per line):' && \
	$(call show,smartrestart decide --root src src/lib/auth.py docs/security.md) && \
	echo '# what apply would do with it (--dry-run talks to no systemd):' && \
	$(call show,smartrestart apply --dry-run --root src src/lib/auth.py docs/security.md)

# Coverage of the whole suite, Python subprocesses and the beds' processes
# included (pyproject.toml's [tool.coverage]), printed at the end. A process
# the tests kill (SIGKILL, a watchdog) may leave a data file half-written:
# combine cannot read it, so it is dropped rather than warned about twice.
# pytest's verdict (the failed tests' names and its last line) is printed again
# after the report, so that the end of a CI log says what failed.
test: setup lint ansible-sanity
	@rm -rf .coverage-data && mkdir .coverage-data
	@{ $(PY) -m coverage run -m pytest tests; echo $$? >.coverage-data/status; } 2>&1 \
		| tee .coverage-data/pytest.log; status=$$(cat .coverage-data/status); \
		$(PY) -m coverage combine -q 2>/dev/null; rm -f .coverage-data/coverage.*; \
		$(PY) -m coverage report; \
		grep -E '^(FAILED|ERROR) |^=+ .*[0-9]+ (passed|failed|errors?)' .coverage-data/pytest.log; \
		exit $$status

# As root, installs the missing Debian packages. Otherwise names them, and stops
# when setup cannot work without them.
system-deps:
	@command -v dpkg-query >/dev/null || { echo "make: not a Debian system; make sure the" \
		"equivalents of these are installed: $(SETUP_PACKAGES) $(EXTRA_PACKAGES)" >&2; exit 0; }; \
	missing() { for p in "$$@"; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done; }; \
	need=$$(missing $(SETUP_PACKAGES)); want=$$(missing $(EXTRA_PACKAGES)); \
	all=$$(echo $$need $$want); [ -n "$$all" ] || exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages:" $$all; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$all; \
	else \
		[ -z "$$want" ] || echo "make: missing Debian packages (integration tests are" \
			"skipped, make deb fails):" $$want >&2; \
		[ -z "$$need" ] || { echo "make: setup needs these Debian packages:" $$need >&2; \
			echo "make: install them as root: apt-get install" $$all >&2; exit 1; }; \
	fi

setup: system-deps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

# ansible-test sanity of the Ansible collection (packaging/ansible), in place, for
# this Python, no containers: about 15 s once its environments are cached.
ansible-sanity: setup
	packaging/ansible/sanity $(PY)

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

# import_graph and grimp_agreement fetch their trees (PyPI wheels) into
# $SMARTRESTART_BENCH_CACHE (default /var/cache/smartrestart-bench) on first use;
# apply_restarts, status_units, watch_latency and dpkg_upgrade boot test beds (root);
# dpkg_upgrade builds the .debs first.
bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) bench/decide_startup.py
	$(PY) bench/trees.py
	$(PY) bench/import_graph.py
	$(PY) bench/grimp_agreement.py
	$(PY) bench/apply_restarts.py
	$(PY) bench/status_units.py
	$(PY) bench/dpkg_upgrade.py
	$(PY) bench/notify_send.py
	$(PY) bench/exec_idle.py
	$(PY) bench/watch_latency.py
	$(PY) bench/ansible_rollout.py

# Mutation testing of the pure core ([tool.mutmut] in pyproject.toml; not part of
# `make test`: 13-21 min on 2 shared cores). MUTANTS='smartrestart.budget.*'
# limits it to one package; the table of kill rates comes from tests/mutation_report.py.
MUTANTS ?=
mutation: setup
	$(PY) -m pip install -q -e '.[mutation]'
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 $(if $(MUTANTS),'$(MUTANTS)')
	$(PY) tests/mutation_report.py $(if $(MUTANTS),'$(MUTANTS)')

# Boot a real systemd (Debian 12 host /usr; KIND=debian13 for systemd 257),
# open a shell in it, and remove it when the shell exits.
KIND ?= debian12
bed: setup
	@name=$$($(PY) -m tests.testbed boot $(KIND)) && \
		$(PY) -m tests.testbed shell $$name; $(PY) -m tests.testbed stop $$name

# The Debian packages (packaging/debian: smartrestart, dh-smartrestart), built
# from the working tree into dist/.
deb: system-deps
	mkdir -p dist
	packaging/build-deb dist

# The example packages (packaging/examples) at versions 1.0 and 1.1, built with
# this tree's dh-smartrestart into dist/examples/.
example-debs: system-deps
	packaging/examples/build dist/examples

# Every .deb, as Debian's QA would read it: any tag shown (not overridden with
# a reason in a lintian-overrides file) fails. (--fail-on info would count
# overridden tags too.)
lintian: deb example-debs
	@tags=$$(lintian --pedantic --display-info dist/*.deb dist/examples/*.deb 2>&1 \
		| grep -v 'running with root privileges'); \
	if [ -n "$$tags" ]; then echo "$$tags"; exit 1; fi; echo "lintian: no tags but overrides"

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage-data mutants
