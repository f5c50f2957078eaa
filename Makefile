# Two commands do all set-up: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY      = $(VENV)/bin/python
FLASK   = $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
DEMO_PASSWORD ?= demo-pass-2015

.PHONY: run test lint venv system-deps messages compile-messages soak bench audit serve-prod clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

compile-messages: venv
	$(VENV)/bin/pybabel compile -d app/translations

# Browser tests need Chromium and a CJK font; PDF checks need pdftotext; the xlsx check LibreOffice.
system-deps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils poppler-data"; \
	[ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (install them as root)"; exit 1; fi; \
	fi
	@if ! command -v soffice >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing libreoffice-calc-nogui"; apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      libreoffice-calc-nogui >/dev/null; \
	  else echo "LibreOffice missing: the xlsx round-trip check will be skipped"; fi; \
	fi

run: venv compile-messages
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) demo --password $(DEMO_PASSWORD)
	@echo "Serving on http://127.0.0.1:$(PORT) (worker running beside it)"
	trap 'kill 0' INT TERM EXIT; $(FLASK) worker & $(FLASK) run --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -q -r app -c pyproject.toml

# The first pass is SQLite with the browser tests (TEST_DATABASE_URL unset for it, even when
# CI exports it); the second runs the suite again on PostgreSQL when TEST_DATABASE_URL is set.
test: venv system-deps compile-messages lint
	env -u TEST_DATABASE_URL $(VENV)/bin/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL pass"; \
	  $(VENV)/bin/pytest -m "not e2e" || exit 1; \
	else echo "TEST_DATABASE_URL not set: PostgreSQL pass skipped"; fi

# The long runs: 200 server kills, >= 10,000 fuzzed requests (tests/security, SOAK=1).
soak: venv compile-messages
	env -u TEST_DATABASE_URL SOAK=1 $(VENV)/bin/pytest tests/security/test_crash.py tests/security/test_fuzz.py
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  SOAK=1 $(VENV)/bin/pytest tests/security/test_fuzz.py tests/security/test_concurrency.py; fi

# Known vulnerabilities in the pinned requirements (needs the network to PyPI).
audit: venv
	$(VENV)/bin/pip-audit -r requirements.txt --progress-spinner off

# Extract strings, update both catalogues (zh_CN mirrors the Chinese source text).
messages: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --ignore-obsolete
	$(PY) -m app.core.catalogue

# Benchmarks, not part of `make test`: builds the data sets when missing (bench/generate.py),
# measures, and writes docs/performance.md. BENCH_ARGS=--quick for a shorter run.
bench: venv compile-messages
	$(PY) -m bench.run $(BENCH_ARGS)

# gunicorn with production settings against a local PostgreSQL database, for trying the
# deployment (docs/deployment.md). The secret key is generated once into instance/.
PROD_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/grants
WORKERS ?= 4
serve-prod: venv compile-messages
	@mkdir -p instance && [ -s instance/prod-secret-key ] || \
	  $(PY) -c 'import secrets; print(secrets.token_hex(32))' > instance/prod-secret-key
	set -e; export APP_ENV=production DATABASE_URL="$${DATABASE_URL:-$(PROD_DATABASE_URL)}"; \
	export SECRET_KEY="$${SECRET_KEY:-$$(cat instance/prod-secret-key)}"; \
	$(PY) -m bench.createdb "$$DATABASE_URL"; \
	$(FLASK) db upgrade; \
	echo "Serving on http://127.0.0.1:$(PORT) ($(WORKERS) gunicorn workers, $$DATABASE_URL)"; \
	trap 'kill 0' INT TERM EXIT; $(FLASK) worker & \
	$(VENV)/bin/gunicorn -w $(WORKERS) -b 127.0.0.1:$(PORT) --access-logfile - wsgi:app

clean:
	rm -rf $(VENV) instance
