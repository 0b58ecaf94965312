# Panel: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app panel
HOST   ?= 127.0.0.1
PORT   ?= 5000
# The address links in e-mails, the family code sheet and the calendar file point at: the
# server's own host and port unless PANEL_BASE_URL is already set (e.g. behind a proxy).
PANEL_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-fast install install-test chromium tesseract fonts migrate demo lint format format-check bench clean

run: install tesseract fonts migrate demo ## Install, migrate, load demo data once and serve on http://$(HOST):$(PORT)
	@$(FLASK) demo-logins
	@echo "Serving Panel on http://$(HOST):$(PORT)  (Ctrl-C to stop; links point at $(PANEL_BASE_URL))"
	@PANEL_BASE_URL='$(PANEL_BASE_URL)' PANEL_BIND=$(HOST):$(PORT) PANEL_WORKERS=$${PANEL_WORKERS:-2} $(BIN)/gunicorn -c gunicorn.conf.py

# The suite runs in JOBS processes (pytest-xdist), each test file whole in one process (tests of
# a file share module fixtures; each process has its own PostgreSQL databases and test folders).
# JOBS=0 runs it in this process alone (easier to debug with -x / pdb).
JOBS ?= 2
XDIST = $(if $(filter 0,$(JOBS)),,-n $(JOBS) --dist loadfile)
test: install-test chromium tesseract fonts ## Install test dependencies and run the whole suite
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# Everyday lane: everything except the browser journeys and the tests that start other
# processes (gunicorn, the CLI from another folder, the atheris runner); see the markers in
# pyproject.toml. `make test` (and CI) still runs everything.
FAST := not browser and not multiprocess
test-fast: install-test ## The suite without browser and multi-process tests
	$(BIN)/python -m pytest $(XDIST) -m "$(FAST)" $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	$(BIN)/python -c "from panel.core.readability import ensure_dictionary; ensure_dictionary()"
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# System packages the suite uses: Debian's Chromium (browser tests), poppler-utils (the
# letters rendered to images), dcmtk and Orthanc with its DICOMweb plugin (hospital systems
# sending studies, issue 19). As root (CI) we install what is missing; elsewhere those tests
# skip and say why.
SYSTEM_TOOLS := /usr/bin/chromium:chromium /usr/bin/pdftoppm:poppler-utils /usr/bin/storescu:dcmtk /usr/sbin/Orthanc:orthanc /usr/share/orthanc/plugins/libOrthancDicomWeb.so:orthanc-dicomweb
chromium:
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  [ -x "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages for the tests:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing fonts-dejavu-core >/dev/null; \
	  else \
	    echo "NOTE: missing$$missing and we are not root: the tests that need them will be skipped."; \
	  fi; \
	fi

# Tesseract OCR (Debian's tesseract-ocr with its English data) reads text burned into image
# pixels (panel/imaging/pixeltext.py, run on every intake by pixelstep.py), and poppler-utils'
# pdftoppm draws scanned PDF pages for it: the app and the suite both need them. As root we install it
# when missing; elsewhere a NOTE (its tests then skip and say why; as root they fail).
tesseract:
	@if [ ! -x /usr/bin/tesseract ] || [ ! -x /usr/bin/pdftoppm ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian packages for OCR: tesseract-ocr tesseract-ocr-eng poppler-utils"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng poppler-utils >/dev/null; \
	  else \
	    echo "NOTE: tesseract-ocr or poppler-utils is missing and we are not root: install them with apt-get (without them images and scanned PDF pages are held back for review)."; \
	  fi; \
	fi

# Fonts for the family letter's translation notice (communication needs): WeasyPrint draws
# empty boxes for a script it has no font for. Debian's fonts-noto-core (Arabic, Urdu,
# Bengali, Gurmukhi, Gujarati, Tamil, Cyrillic...; about 42 MB installed) and
# fonts-wqy-microhei for Chinese (5 MB; fonts-noto-cjk would be 91 MB). As root we install
# what is missing; elsewhere a NOTE (the letter still renders, that sentence in boxes).
FONT_FILES := /usr/share/fonts/truetype/noto/NotoSansBengali-Regular.ttf:fonts-noto-core /usr/share/fonts/truetype/wqy/wqy-microhei.ttc:fonts-wqy-microhei
fonts:
	@missing=""; for pair in $(FONT_FILES); do \
	  [ -e "$${pair%%:*}" ] || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian font packages for the family letter:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "NOTE: missing fonts$$missing and we are not root: the family letter's translation notice may print as empty boxes (install them with apt-get)."; \
	  fi; \
	fi

migrate: install
	@$(FLASK) db upgrade
	@$(FLASK) load-reference-data
	@$(FLASK) load-trials --new-only

demo: install
	@$(FLASK) demo-data

# What lint and format cover (migrations are generated and trimmed by hand: left out).
LINT_PATHS := panel tests bench fuzz config.py gunicorn.conf.py

lint: install-test ## ruff check (CI runs it before the tests)
	$(BIN)/ruff check $(LINT_PATHS)

format-check: install-test ## ruff format --check (CI runs it; `make test` does not, so local runs never fail on layout)
	$(BIN)/ruff format --check $(LINT_PATHS)

format: install-test ## Reformat the code with ruff
	$(BIN)/ruff format $(LINT_PATHS)

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
