# provenance-checker: the two Quickstart commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= sample-corpus

.PHONY: setup browser demo app test lint clean

# Create the virtual environment and install the package with its test tools, once: the
# stamp is remade only when pyproject.toml changes (or with make clean), so make app, demo and
# test start at once on a machine already set up. Needs Python 3.11 and pip only (no root).
STAMP := $(VENV)/.installed
setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev,cluster,app,serve]"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps invisible-watermark==0.2.0
	$(BIN)/python -m compileall -q provenance >/dev/null  # as a regular install does: each start reads bytecode
	touch $(STAMP)

# Build the sample corpus (signed, tampered, unsigned and watermarked clips and images) and
# check it, trusting only the corpus's own demo root certificate, with its demo watermark key.
demo: setup
	rm -rf $(CORPUS)
	$(BIN)/python -m datasets.sample_corpus $(CORPUS) --seed 0
	$(BIN)/provenance check $(CORPUS) --anchors $(CORPUS)/pki/root.pem --trust-list user --key-file $(CORPUS)/demo-key.txt --repository $(CORPUS)/manifests.sqlite

# The web page for single uploads, on this machine only (http://127.0.0.1:8501); the upload
# limit, the address and no usage statistics come from .streamlit/config.toml.
MAX_UPLOAD_MB ?= 500
app: $(STAMP)
	$(BIN)/streamlit run app/streamlit_app.py --server.maxUploadSize $(MAX_UPLOAD_MB)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The Debian packages only the tests need, installed with apt-get when missing (root, or a
# Debian/Ubuntu machine where you can): headless Chromium and its driver for the tests that use
# a real browser, strace for the test that proves a check opens no socket.
browser:
	command -v chromedriver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
	command -v strace >/dev/null || { apt-get update -qq && apt-get install -y -qq strace >/dev/null; }

# Lint, type-check and run the whole test suite.
test: lint browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(CORPUS) .mypy_cache .ruff_cache .pytest_cache benchmarks/_work
