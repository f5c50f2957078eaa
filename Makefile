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

test: venv system-deps compile-messages lint
	$(VENV)/bin/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== PostgreSQL pass"; \
	  $(VENV)/bin/pytest -m "not e2e" || exit 1; \
	else echo "TEST_DATABASE_URL not set: PostgreSQL pass skipped"; fi

# Extract strings, update both catalogues (zh_CN mirrors the Chinese source text).
messages: venv
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --ignore-obsolete
	$(PY) -m app.core.catalogue

clean:
	rm -rf $(VENV) instance
