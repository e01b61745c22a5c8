# The two commands: `make book` (environment, data, notebooks, HTML) and `make test`.
PROFILE ?= full
VENV := .venv
PY := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.installed
KAGGLE_JSON := $(HOME)/.kaggle/kaggle.json

.PHONY: book env data notebooks html test lab clean

book: notebooks html

env: $(ENV_STAMP)

$(ENV_STAMP): requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name fer2013-book --display-name "Python (FER-2013 book)" >/dev/null
	touch $@

# Locate the data set (FER2013_PATH, else data/fer2013{,.zip,.csv}); download it with the Kaggle CLI
# when credentials exist; decode and cache it and write the split manifest.
data: env
	@$(PY) -m fer_helpers.data --locate >/dev/null 2>&1 || ! test -f $(KAGGLE_JSON) || { \
	  $(PY) -m pip install -q kaggle && mkdir -p data && \
	  $(VENV)/bin/kaggle datasets download -d msambare/fer2013 -p data/ ; }
	@$(PY) -m fer_helpers.data --summary >/dev/null && echo "data: OK ($$($(PY) -m fer_helpers.data --locate))"

notebooks: data
	$(PY) -m fer_helpers.runbook --profile $(PROFILE) $(if $(FORCE),--force)

html: env
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

test: env
	FER_PROFILE=smoke $(VENV)/bin/pytest --nbval-lax tests notebooks

lab: env
	$(PY) -m pip install -q jupyterlab
	$(VENV)/bin/jupyter lab notebooks

clean:
	rm -rf _build .smoke
