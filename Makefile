# Two commands for a new user:  `make run` (set up and solve a bundled instance) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test benchmark docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $@

run: $(BIN)/.installed
	$(BIN)/verdeelmodel solve instances/nijmegen-2018 --xlsx --out out/nijmegen-2018
	$(BIN)/verdeelmodel report instances/nijmegen-2018 --out out/nijmegen-2018-rapport

test: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

benchmark: $(BIN)/.installed
	$(BIN)/verdeelmodel benchmark

docs: $(BIN)/.installed
	$(BIN)/verdeelmodel docs

clean:
	rm -rf $(VENV) out build *.egg-info
