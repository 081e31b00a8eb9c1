# Two commands on a fresh clone: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin

LEAD_PIPELINE_HOME ?= $(CURDIR)/.lead_pipeline
DAGSTER_HOME ?= $(LEAD_PIPELINE_HOME)/dagster
export GX_ANALYTICS_ENABLED := False
export UV_PYTHON := $(PYTHON)

.PHONY: install run dev test lock clean

# Bytecode compiled ahead: where PYTHONDONTWRITEBYTECODE is set (CI images, containers), every process
# would otherwise compile every module it imports (about 2 s of each Dagster code-server load).
install: $(VENV)/.installed
	@$(BIN)/python -m compileall -q lead_pipeline

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode
	@touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

run: install $(DAGSTER_HOME)/dagster.yaml
	LEAD_PIPELINE_HOME=$(LEAD_PIPELINE_HOME) DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/lead-pipeline run

dev: install $(DAGSTER_HOME)/dagster.yaml
	LEAD_PIPELINE_HOME=$(LEAD_PIPELINE_HOME) DAGSTER_HOME=$(DAGSTER_HOME) \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lock: | $(UV)
	$(UV) lock

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
