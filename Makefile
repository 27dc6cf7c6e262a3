# make run: install and start the bot.  make test: install and run the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned: the CUDA build that also runs on CPU, with matching torchvision
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

env/.env:
	cp env/example.env env/.env
	@echo "Created env/.env from env/example.env: put BOT_TOKEN=<token from @BotFather> there."

run: $(STAMP) env/.env
	@$(PY) -m bot --check
	@$(VENV)/bin/vitrina weights download --missing || \
		echo "Starting anyway: features whose weights are missing answer 'unavailable'."
	$(PY) -m bot

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
