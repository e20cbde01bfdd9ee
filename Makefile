# Two entry points: `make run` (set up, then the main job on the bundled sample) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup run demo test bench clean sample screenshots plan

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
# pyworkforce (the peer of the Erlang C and shift-count benchmarks) pins older numpy/pandas, so it
# lives in its own environment, called by the benchmarks through $PYWORKFORCE_PYTHON.
PEERS := .venv-peers
$(PEERS)/.installed:
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install --quiet pyworkforce
	touch $@

bench: $(STAMP) $(PEERS)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	PYWORKFORCE_PYTHON=$(abspath $(PEERS))/bin/python $(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The whole chain on the bundled sample (docs/plan.md): results in plan-output/.
plan: $(STAMP)
	$(BIN)/webcare plan --out plan-output

# Screenshots of every page of the app into docs/screenshots/ (needs Debian's chromium).
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

sample: $(STAMP)
	$(BIN)/python scripts/generate_sample.py

clean:
	rm -rf $(VENV) $(PEERS) .pytest_cache .hypothesis
