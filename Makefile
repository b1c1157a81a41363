# Everything a developer or CI runs. `make book` and `make test` work on a fresh clone.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.PHONY: venv html book notebooks check test test-all-but-site test-site lab bench clean
# Two recipes at a time (CI has 2 cores): while uv fills the venv, npm fills node_modules; while
# Sphinx runs the pages, the browser lab builds and the tests that need no built book run.
MAKEFLAGS += --jobs=2
# Each recipe's output is shown whole once it ends, so that two pytest runs do not interleave; but not
# `make lab`'s, which runs until stopped: JupyterLab's URL must show as soon as it is printed.
ifeq ($(filter lab,$(MAKECMDGOALS)),)
MAKEFLAGS += --output-sync=target
endif

# The system tools the book and the tests need, checked before any work (.ci/prerequisites names the command
# that installs what is missing): Chromium only for the tests.
CHECKED_GOALS := book html test test-all-but-site test-site
ifneq ($(filter $(CHECKED_GOALS),$(MAKECMDGOALS)),)
$(shell bash .ci/prerequisites $(if $(filter test%,$(MAKECMDGOALS)),chromium) >&2)
ifneq ($(.SHELLSTATUS),0)
$(error system prerequisites missing (above))
endif
endif

BIN := .venv/bin
# Pages, labs and tests run many small kernels, often several processes at a time on 2 cores:
# one BLAS/OpenMP thread each avoids threads stalling on each other. `make bench` sets its own.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
VENV_MADE := .venv/pyvenv.cfg
VENV_STAMP := .venv/.installed
# uv fills the venv: what pip would install, from the sources pip is configured with (.ci/uv-pip), in a fraction of
# pip's processor time. pip installs uv itself, pinned.
UV := uv==0.13.10
UV_MADE := $(BIN)/uv
UV_PIP := $(BIN)/python .ci/uv-pip
# torch is a test-only dependency (parity tests). Exactly this version: it is on the
# machine's disk, while any other one would be a multi-GB CUDA download.
TORCH := torch==2.13.0
TORCH_STAMP := .venv/.torch-installed
NODE_STAMP := node_modules/.installed
# Browser files the site serves itself (see "Offline" in _config.yml). Sphinx copies the
# contents of SITE_JS into _build/html/_static/.
SITE_JS := _build/site-js
VENDOR := $(SITE_JS)/npm
VENDOR_STAMP := _build/site-js.stamp
# The book's pages as PyTorch notebooks (book/extensions/to_torch.py states the one rule), for nbval.
NBVAL_TORCH := .scratch/nbval-torch
# Every lab's student notebook and answer key, released for nbval (run on the same Python as the lab kernel).
LAB_NOTEBOOKS := .scratch/labs
# Book pages that are notebooks (MyST markdown with a kernelspec), as opposed to plain pages.
NOTEBOOKS = $(shell grep -rl --include='*.md' '^kernelspec:' book)

venv: $(VENV_STAMP)

$(VENV_MADE):
	python3 -m venv .venv

$(UV_MADE): $(VENV_MADE)
	$(BIN)/pip install --progress-bar off $(UV)

# Byte-compiled as installed (on every core): the grading tests' ordinary user cannot write the venv's bytecode.
$(VENV_STAMP): $(UV_MADE) requirements.txt pyproject.toml
	$(UV_PIP) install --compile-bytecode -r requirements.txt -e .
	touch $@

$(TORCH_STAMP): $(VENV_STAMP)
	$(UV_PIP) install --compile-bytecode $(TORCH)
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): $(NODE_STAMP) $(wildcard book/site-js/*) Makefile
	rm -rf $(SITE_JS)
	mkdir -p $(dir $(SITE_JS))
	cp -r book/site-js $(SITE_JS)
	mkdir -p $(VENDOR)/requirejs $(VENDOR)/html-manager $(VENDOR)/mathjax
	cp node_modules/requirejs/require.js $(VENDOR)/requirejs/
	cp node_modules/@jupyter-widgets/html-manager/dist/{embed-amd.js,*.woff2,*.woff,*.ttf,*.eot,*.svg} \
	  $(VENDOR)/html-manager/
	cp -r node_modules/mathjax/{LICENSE,es5/{tex-mml-chtml.js,a11y,adaptors,input,output,sre,ui}} \
	  $(VENDOR)/mathjax/
	touch $@

# The execution cache keys on a page's own code, not on the engine and widgets it imports:
# when anything under src/ changes, every page runs again. So it does once torch is installed:
# the pages print PyTorch's own figures beside numtorch's (and pin their "as in PyTorch"
# claims) wherever torch is importable, and the published site shows them.
SRC_STAMP := _build/src.stamp
$(SRC_STAMP): $(shell find src -name '*.py') $(TORCH_STAMP)
	rm -rf _build/.jupyter_cache
	mkdir -p _build
	touch $@

# The browser lab (JupyterLite, book/lite/build.py), rebuilt from clean when anything it holds
# changes: the engine and labkit, the labs, the book's pages, its own pins and settings.
LITE_APP := _build/lite/app
LITE_STAMP := _build/lite.stamp
$(LITE_STAMP): $(VENV_STAMP) $(NODE_STAMP) $(shell find src labs book -name '*.py' -o -name '*.md' -o -name '*.npz') \
  $(shell find book/lite -type f -not -path '*/__pycache__/*') pyproject.toml
	$(BIN)/python book/lite/build.py --out $(LITE_APP)
	touch $@

# --all rebuilds every page so that -W sees every warning; execution stays cached
# (execute_notebooks: cache), so unchanged pages are not re-run. Those that run, each in a kernel of its own,
# run in kernels forked warm (book/extensions/warm_kernels.py).
html: $(VENV_STAMP) $(VENDOR_STAMP) $(SRC_STAMP)
	$(BIN)/python book/extensions/warm_kernels.py run -- $(BIN)/jupyter-book build --all -W --keep-going .

# The browser lab is copied in after Sphinx, whose output folder it must not share with an
# older build of itself.
book: html $(LITE_STAMP)
	rm -rf _build/html/lite
	cp -r $(LITE_APP) _build/html/lite

# The book's pages converted to PyTorch notebooks, for nbval (which does not read MyST pages). As written,
# on numtorch, each page runs once, in `make book`: Sphinx fails on a cell that raises (raise_on_error), and
# its execution cache is cleared when anything under src/ changes (SRC_STAMP).
# And the labs as released: a blank student notebook must run cleanly (its NotImplementedErrors surface only
# in the check cells, which report them), an answer key to its end.
notebooks: $(VENV_STAMP)
	rm -rf $(NBVAL_TORCH) $(LAB_NOTEBOOKS)
	$(BIN)/python book/extensions/to_torch.py $(NBVAL_TORCH) $(NOTEBOOKS)
	$(BIN)/labkit release --out $(LAB_NOTEBOOKS)/student >/dev/null
	$(BIN)/labkit release --out $(LAB_NOTEBOOKS)/solution --solutions >/dev/null

# Unit, parity, lab and site tests, plus under nbval every lab notebook and every book page converted to
# PyTorch, hidden assertion cells included.
# nbval runs each notebook in a kernel of this venv's Python (--nbval-current-env), forked warm:
# book/extensions/warm_kernels.py.
# Two pytest runs: the site's tests (tests/site) need the built book; all the others start as
# soon as torch and the notebooks are there, while Sphinx still builds the book.
# Each on two workers; a test file (a notebook) runs whole in one worker (xdist groups, tests/conftest.py; the
# browser lab's long tests are each a group of their own), files in the order given, not by their
# number of tests (a one-test file may take minutes):
# the many short notebooks come last and keep both workers busy to the end.
# pytest's own exit code stands: 5 (nothing collected) fails the target. Each run ends with its
# 15 slowest tests, where time to save would be.
PYTEST := $(BIN)/pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=300 --timeout=900 \
  -n 2 --dist loadgroup --no-loadscope-reorder --durations=15
test: test-all-but-site test-site

test-all-but-site: $(TORCH_STAMP) notebooks
	$(PYTEST) tests $(LAB_NOTEBOOKS) $(NBVAL_TORCH) --ignore=tests/site

test-site: book
	$(PYTEST) tests/site

# The loop to live in (a minute on two quiet cores): every test that starts no kernel, server or browser and
# needs no built book (the markers of pyproject.toml, set in tests/conftest.py), parity tests against torch
# included.
CHECK := not kernels and not browser and not site and not pyodide and not slow
check: $(TORCH_STAMP)
	$(BIN)/pytest tests -m '$(CHECK)' -n 2 --timeout=300 --durations=10

# Releases the student notebooks into workspace/ (never overwriting one), installs the lab kernel
# (the grader's environment) and JupyterLab's settings into .venv, then starts JupyterLab there:
# as root too, and printing the URL to open where there is no display.
# `make lab LAB_DIR=DIR` opens DIR instead (a command-line variable only: CI systems export WORKSPACE).
LAB_DIR := workspace
lab: $(VENV_STAMP)
	$(BIN)/labkit lab $(LAB_DIR)

# Speed goals are benchmarks that print figures, not tests: numtorch against torch, each in its
# own process at its own default threading (bench.py drops the thread settings exported above),
# then grading and widgets.
bench: $(TORCH_STAMP)
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/grading.py
	$(BIN)/python benchmarks/widgets.py

clean:
	rm -rf _build .scratch
