# Lớp Số — `make run` serves the app with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
I18N   := webapp/translations
export FLASK_APP := webapp

.PHONY: run test install install-dev translations extract-messages migrate demo lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Compile the Vietnamese and English catalogues (.po -> .mo; the .mo files are not committed).
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d $(I18N)

## After changing user-facing text: extract it and merge it into both catalogues.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F webapp/babel.cfg -k _l -k lazy_gettext -k lazy_text -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -N -i $(I18N)/messages.pot -d $(I18N)

migrate: $(VENV)/.installed
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask seed-demo --if-empty

## The app is served with the certificates' signer: the configured CERTIFICATE_SIGNER_NAME, or
## on the demo database the demo's; otherwise it warns (nothing can be issued until it is set).
run: translations demo
	@signer="$$($(BIN)/flask certificates signer)" && \
	LOPSO_CERTIFICATE_SIGNER_NAME="$$signer" $(BIN)/flask run --host 127.0.0.1 --port 5000

test: install-dev translations
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check webapp tests bench
	$(BIN)/ruff format --check webapp tests bench

format: install-dev
	$(BIN)/ruff check --fix webapp tests bench
	$(BIN)/ruff format webapp tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find $(I18N) -name '*.mo' -delete
