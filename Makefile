# Two entry points: `make run` (set up, then the main job on the bundled sample) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run demo test bench clean sample

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The app on the bundled sample, on http://localhost:8501 (Ctrl+C stops it).
run: $(STAMP)
	$(BIN)/streamlit run app.py --server.address localhost --server.headless true

# The command-line end-to-end job on the bundled sample.
demo: $(STAMP)
	$(BIN)/webcare demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py

sample: $(STAMP)
	$(BIN)/python scripts/generate_sample.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
