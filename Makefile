# Set-up and go. Needs only python3.11 and make; everything else is installed into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-slow lint bench docs scenarios experiment compare validate calibrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run the baseline scenario on the small default population (ARGS="scenario=funding_cliff ..." to change)
run: $(STAMP)
	$(BIN)/python -m sim $(ARGS)

## lint, types, then the test suite (what CI runs)
test: lint
	$(BIN)/python -m pytest -q -n auto --dist loadgroup --durations=15

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
