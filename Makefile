# make run: install and start the bot.  make test: install and run the whole suite.
# make quality: the real-weights checks (fetches ISNet and the text detector into REAL_WEIGHTS,
#   outside the clone).
# make bench: the performance table of issue 9 (benchmarks/run.py -> benchmarks/RESULTS.md).
# make soak: the memory soak of issue 20 (benchmarks/soak.py -> benchmarks/SOAK.md).
# make gpu-check: every model once on the GPU (benchmarks/gpu_check.py -> benchmarks/GPU.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Real weights for `make quality`, kept across clones and runs (never inside the repository).
REAL_WEIGHTS ?= $(HOME)/.cache/vitrina/weights

.PHONY: run test quality bench soak gpu-check lint format settings-docs clean redis ocr-packages

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

run: $(STAMP) env/.env ocr-packages
	@$(PY) -m bot --check
	@$(VENV)/bin/vitrina weights download --missing || \
		echo "Starting anyway: features whose weights are missing answer 'unavailable'."
	@$(VENV)/bin/vitrina doctor || { echo "make run: fix the lines marked ✗ above first"; exit 1; }
	$(PY) -m bot

# The scale-out tests start a real redis-server (Debian's) on a free loopback port.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
redis:
	@command -v redis-server >/dev/null || \
		{ echo "installing redis-server (Debian)"; \
		  $(SUDO) apt-get install -y -qq redis-server >/dev/null 2>&1 || \
		  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null; }; }

# Text reading (Tesseract, Russian + English), the fonts the OCR tests draw with, and /gallery's
# fonts (Inter, Roboto, Open Sans: Cyrillic; Font Awesome: the benefit icons) (Debian).
# Never fails: without them only recognition (or /gallery) is unavailable and those tests skip.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng fonts-dejavu-core \
	fonts-inter fonts-roboto fonts-open-sans fonts-font-awesome
ocr-packages:
	@missing=$$(for p in $(OCR_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing" $$missing "(Debian)"; \
		$(SUDO) apt-get install -y -qq $$missing >/dev/null 2>&1 || \
		{ $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; } || \
		echo "could not install" $$missing": text recognition stays unavailable"; \
	fi

test: $(STAMP) redis ocr-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile
	$(PY) -m pytest -m "not realweights"  # those run in `make quality`

quality: $(STAMP) ocr-packages
	@$(VENV)/bin/vitrina weights verify isnet --dir $(REAL_WEIGHTS) >/dev/null 2>&1 && \
		echo "real ISNet in $(REAL_WEIGHTS): verified, reused" || \
		$(VENV)/bin/vitrina weights download isnet --dir $(REAL_WEIGHTS)
	@$(VENV)/bin/vitrina weights verify ocr --dir $(REAL_WEIGHTS) >/dev/null 2>&1 && \
		echo "real text detector in $(REAL_WEIGHTS): verified, reused" || \
		$(VENV)/bin/vitrina weights download ocr --dir $(REAL_WEIGHTS)
	VITRINA_REAL_WEIGHTS_DIR=$(REAL_WEIGHTS) $(PY) -m pytest -m realweights -s -q

# Issue 9's goals P1-P7 in one table (benchmarks/RESULTS.md); a few minutes on CPU.
BENCH_THREADS ?= 1
bench: $(STAMP)
	OMP_NUM_THREADS=$(BENCH_THREADS) PYTHONPATH=$(CURDIR) $(PY) benchmarks/run.py

# Memory soak (issue 20): 2 000 mixed jobs from 20 users against the emulator, RSS of the bot
# and its worker every 100 jobs; fails when either grows more than 10 % from job 200 to the end.
soak: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/soak.py --jobs 2000 --every 100 --from 200 \
		--out benchmarks/SOAK.md

# Issue 27: each model of WEIGHTS_DIR on CUDA (tiny random weights where the real are absent,
# said in the table): seconds per operation (median of 5 after a warm-up), peak GPU memory,
# torch.compile / channels-last for pix2pix and SAM, CLIP batch 1 vs 32. Under 5 minutes on
# one H100. On a machine without a GPU: $(PY) benchmarks/gpu_check.py --device cpu
gpu-check: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/gpu_check.py --device cuda --out benchmarks/GPU.md
	# issue 31 C1: 100 photos -> Fix for WB -> cards on the GPU (goal: <= 60 s)
	PYTHONPATH=$(CURDIR) $(PY) benchmarks/catalogue.py --c1-device cuda | tee benchmarks/C1-GPU.md

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint Dockerfile

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# env/example.env and the README's settings table, from the settings' declarations
settings-docs: $(STAMP)
	$(VENV)/bin/python -m bot.settings_docs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
