# credit-risk-ews: `make demo` runs the whole pipeline on the embedded DuckDB warehouse,
# `make test` runs every check CI runs. Both create .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DBT := $(VENV)/bin/dbt
STAMP := $(VENV)/.installed
WAREHOUSE ?= duckdb
export WAREHOUSE
KAFKA_BOOTSTRAP ?= 127.0.0.1:19092
export KAFKA_BOOTSTRAP
# 40,000 loans: with their history, the backtest's models and the exports, 50,000 took the
# demo past 5 minutes on 2 cores, install included.
DEMO_LOANS ?= 40000
DEMO_CSV := lake/input/synthetic_loans.csv
DEMO_HISTORY := lake/input/synthetic_pmthist.csv
# The history streamed: its last 21 months (about 400,000 loan-months of the demo book's
# 745,000; all of it would take the demo past 5 minutes on 2 cores, install included).
DEMO_HISTORY_SINCE ?= 2017-07

.PHONY: venv demo test lint docs bench superset superset-stop clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs the locked set (constraints.txt, the same versions pip picks) in seconds
	@# where pip took 4 minutes of CI's 20; pip only bootstraps uv itself.
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt uv
	$(PY) -m uv pip install --quiet --python $(PY) -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	@echo "== 1/8 generate $(DEMO_LOANS) synthetic LendingClub loans and their monthly payment history"
	$(PY) -m ingest generate --count $(DEMO_LOANS) --seed 42 --out $(DEMO_CSV) --history-out $(DEMO_HISTORY)
	@echo "== 2/8 start the local development broker (Tansu, memory only) on $(KAFKA_BOOTSTRAP)"
	@echo "== 3/8 produce the loans' events onto Kafka, then their history month by month since $(DEMO_HISTORY_SINCE)"
	@echo "== 4/8 stream them into the raw tables ($(WAREHOUSE)) until the topics are drained"
	@$(PY) -m ingest broker > lake/broker.log 2>&1 & broker=$$!; \
	  trap "kill $$broker 2>/dev/null; wait $$broker 2>/dev/null" EXIT; \
	  $(PY) -m ingest produce --csv $(DEMO_CSV) && \
	  $(PY) -m ingest produce --history $(DEMO_HISTORY) --since $(DEMO_HISTORY_SINCE) && \
	  $(PY) -m ingest run --until-idle 5
	@echo "== 5/8 dbt build (models and data tests; the unit tests are make test's)"
	$(DBT) build --profiles-dir profiles --target $(WAREHOUSE) --quiet --exclude-resource-type unit_test
	@echo "== 6/8 PD models: train out of time, score every loan, out-of-time PDs for the backtest, the behavioural score, rebuild what they feed"
	$(PY) -m ml train
	$(PY) -m ml score
	$(PY) -m ml backtest-scores
	$(PY) -m ml train-behaviour
	$(DBT) build --profiles-dir profiles --target $(WAREHOUSE) --quiet --exclude-resource-type unit_test \
	  --select source:ml+
	@echo "== 7/8 the daily export to $${LAKE_URL:-file://./lake}: snapshots, raw-event archive, drift report"
	$(PY) -m exports all
	@echo "== 8/8 report"
	$(PY) -m exports report
	@echo
	@echo "wrote: $(DEMO_CSV) and $(DEMO_HISTORY) (input), $${DUCKDB_PATH:-warehouse.duckdb} (warehouse: raw, staging, intermediate, marts, ml schemas), $${ML_MODEL_DIR:-lake/models} (models, ROC and lift plots), lake/snapshots, lake/raw, lake/quarantine, lake/reports/drift (exports)"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	@# sqlfluff compiles the project with dbt (DuckDB target) and parses it in both dialects,
	@# the two side by side (each with its own dbt target folder and file): 2 min, not 4.
	@mkdir -p target
	@DBT_TARGET_PATH=target/sqlfluff-duckdb DUCKDB_PATH=target/sqlfluff.duckdb \
	  $(VENV)/bin/sqlfluff lint --dialect duckdb dbt_project/models dbt_project/tests & duck=$$!; \
	  DBT_TARGET_PATH=target/sqlfluff-postgres DUCKDB_PATH=target/sqlfluff-postgres.duckdb \
	  $(VENV)/bin/sqlfluff lint --dialect postgres dbt_project/models dbt_project/tests; pg=$$?; \
	  wait $$duck; duck=$$?; test $$duck -eq 0 -a $$pg -eq 0

# Two workers, each test file on one of them: most tests wait on dbt, Kafka or a server, so
# two run side by side in about half the time on 2 cores (each worker starts its own
# Postgres, broker and S3 endpoint; dbt gets a target folder per worker).
test: lint
	$(VENV)/bin/pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=30

docs: $(STAMP)
	$(DBT) docs generate --profiles-dir profiles --target $(WAREHOUSE)
	@echo "docs site in target/ (index.html, manifest.json, catalog.json): serve with"
	@echo "  $(DBT) docs serve --profiles-dir profiles --port 8080"

# A local Superset 6.1 on 127.0.0.1:$(SUPERSET_PORT) in its own virtualenv (.cache/superset),
# provisioned with the dashboards against the current warehouse ($(WAREHOUSE)).
SUPERSET_PORT ?= 8088
superset: $(STAMP)
	$(PY) -m exports superset-local --port $(SUPERSET_PORT)

superset-stop: $(STAMP)
	$(PY) -m exports superset-local --stop

bench: $(STAMP)
	$(PY) -m tests.benchmarks.load_benchmark
	$(PY) -m tests.benchmarks.stream_benchmark
	$(PY) -m tests.benchmarks.dbt_benchmark
	$(PY) -m tests.benchmarks.history_benchmark
	$(PY) -m tests.benchmarks.ml_benchmark
	$(PY) -m tests.benchmarks.api_benchmark
	$(PY) -m tests.benchmarks.decision_latency_benchmark

clean:
	rm -rf target lake warehouse.duckdb warehouse.duckdb.wal
