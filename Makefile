# Two commands on a fresh machine: `make run` (install, ingest, serve on 127.0.0.1:7860) and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-stamp
SYSTEM  := $(VENV)/.system-stamp
HOST    ?= 127.0.0.1
PORT    ?= 7860

.PHONY: install system-deps run ingest test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# Debian's chromium (driven by Playwright's Python client, no browser download), Korean and emoji fonts for screenshots,
# and redis-server (the Redis LLM cache is tested against a real server on loopback).
system-deps: $(SYSTEM)

$(SYSTEM): | $(STAMP)
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi nanum || ! fc-list 2>/dev/null | grep -qi emoji || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-nanum fonts-noto-color-emoji redis-server >/dev/null; \
	  else echo "Install Debian packages: sudo apt-get install chromium fonts-nanum fonts-noto-color-emoji redis-server"; exit 1; fi; \
	fi
	touch $@

ingest: install
	$(VENV)/bin/partners ingest

run: install
	$(VENV)/bin/partners ingest
	$(VENV)/bin/partners serve --host $(HOST) --port $(PORT)

test: install system-deps
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not browser and not server"

bench: install
	$(VENV)/bin/partners bench ingest
	$(VENV)/bin/partners bench query

clean:
	rm -rf $(VENV) .partners .pytest_cache
