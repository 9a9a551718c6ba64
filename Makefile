# Set-up and go. Needs only python3.11 and make; everything else is installed into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-slow lint bench docs scenarios experiment compare validate calibrate app animate report browser clean
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run the baseline scenario on the small default population (ARGS="scenario=funding_cliff ..." to change)
run: $(STAMP)
	$(BIN)/python -m sim $(ARGS)

## lint, types, then the test suite (what CI runs), the workshop page's tests in Debian's headless Chromium
test: lint browser
	KANKEI_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q -n auto --dist loadgroup --durations=15

## Debian's Chromium for the browser tests (never a browser download); apt-get, with sudo unless root
browser:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@chromium --version

## the workshop page on localhost (ARGS="--port 8765"); works offline
app: $(STAMP)
	$(BIN)/python -m sim.app $(ARGS)

## the planner's report, HTML and PDF (ARGS="baseline guides_high funding_cliff --lang ja"); needs make browser
report: $(STAMP) browser
	$(BIN)/python -m sim.report $(ARGS)

## a run as an animated GIF or MP4 for slides (ARGS="scenario=guides_high --out results/guides_high.gif")
animate: $(STAMP)
	$(BIN)/python -m sim.animate $(ARGS)

## the slow statistical and large-population checks
test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,ray,slurm]'
	$(BIN)/python -m pytest -q -m slow -n auto --dist loadgroup

## ruff and mypy (configured in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

## speed and memory of both engines (includes the 46.78M-person run, about 10 minutes)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(ARGS)

## every scenario against the baseline with paired seeds: docs/SCENARIOS.md (ARGS="--seeds 20 ..." to change)
scenarios: $(STAMP)
	$(BIN)/python -m experiments.scenarios $(ARGS)

## run what is missing of an experiment file (ARGS="experiments/levers.yaml --jobs 2"; see README, Experiments)
experiment: $(STAMP)
	$(BIN)/python -m sim.experiment run $(ARGS)

## named scenarios side by side with paired replicates (ARGS="baseline guides_high funding_cliff --replicates 10")
compare: $(STAMP)
	$(BIN)/python -m sim.compare $(ARGS)

## the model beside the survey's figures: docs/VALIDATION.md (ARGS="--seeds 5 ...")
validate: $(STAMP)
	$(BIN)/python -m sim.validate $(ARGS)

## fit the free parameters to the targets: sim/calibration/ (ARGS="--simulations 256 --jobs 2 ...")
calibrate: $(STAMP)
	$(BIN)/python -m sim.calibrate $(ARGS)

## regenerate the parameter table of docs/ODD.md from sim/params.py
docs: $(STAMP)
	$(BIN)/python -m sim.params --write-odd

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache
