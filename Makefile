# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

.PHONY: install demo test lint bench
install: $(STAMP)

demo: $(STAMP)
	$(BIN)/healthbot demo $(ARGS)

test: $(STAMP)
	$(BIN)/ruff check bot scoring tests benchmarks
	$(BIN)/pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all $(ARGS)
