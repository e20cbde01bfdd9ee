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

# Every benchmark in benchmarks/ (each in a fresh process); rewrites BENCHMARKS.md (about 30 minutes).
# One of them: make bench BENCH_ARGS="--only forecast"; tiny inputs: make bench BENCH_ARGS=--smoke
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

sample: $(STAMP)
	$(BIN)/python scripts/generate_sample.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
