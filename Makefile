# cxpulse: `make run` sets everything up and starts the demo; `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The demo's digests go to a local catcher: every mail lands in var/mail (a Maildir).
run: $(STAMP)
	@mkdir -p var/mail
	@$(PY) -m aiosmtpd -n -l 127.0.0.1:2525 -c aiosmtpd.handlers.Mailbox var/mail & \
	  catcher=$$!; trap 'kill $$catcher 2>/dev/null' EXIT INT TERM; \
	  $(VENV)/bin/cxpulse run --config config.toml --simulate demo

system-deps:
	bash tests/system_deps.sh

lint: $(STAMP)
	$(PY) -m ruff check cxpulse server alerting voice archive digests cases stream dsp text dashboards simulators tests bench
	$(PY) -m mypy cxpulse server dashboards alerting voice archive digests cases stream dsp text simulators tests bench

# The numba kernels compile into their caches (`cxpulse warm`) on one core while the lint
# runs on the other, so no test pays for compilation.
test: $(STAMP) system-deps
	@$(PY) -m cxpulse.cli warm --config config.toml & warm=$$!; \
	  $(MAKE) --no-print-directory lint; status=$$?; wait $$warm; exit $$status
	$(PY) -m pytest -q -p no:cacheprovider -n 2 --durations=15

bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
