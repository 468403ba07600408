"""The stream scorer decides every event exactly once, through kill -9 and a warehouse outage,
quarantines what it cannot read without stopping, and picks up a champion from its pointer.

Real parts: the Tansu broker, the scorer as a separate process (`python -m ml serve-stream`),
a real Postgres, DuckDB.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from confluent_kafka import Producer
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ingest.settings import Settings
from ingest.warehouse.session import read_frame
from ml import artifacts
from ml.features import model_frame
from ml.serving.champion import write_pointer
from ml.serving.decide import decide_applications
from ml.serving.rules import project_thresholds
from tests.integration.streaming import produce, start_consumer, wait_for
from tests.postgres_cluster import controlled_cluster

LOANS = 1_000  # the first of the synthetic_csv fixture's 3,000: ten checkpoints of 200
BAD_MESSAGES = [b"not json", b'{"event_type": "loan.application"}', b"\x00\xff" * 10]


def start_scorer(env: Mapping[str, str], until_idle: float = 2.0) -> subprocess.Popen:
    return start_consumer(["ml", "serve-stream"], env, until_idle)


def run_scorer(env: Mapping[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    process = start_scorer(env)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def produce_bad(env: Mapping[str, str]) -> None:
    producer = Producer({"bootstrap.servers": env["KAFKA_BOOTSTRAP"]})
    for value in BAD_MESSAGES:
        producer.produce(env["INGEST_APPLICATIONS_TOPIC"], value)
    producer.flush(10)


def decisions(settings: Settings) -> pd.DataFrame:
    return read_frame(settings, "select * from live.loan_decisions")


def committed(settings: Settings) -> int:
    try:
        return len(decisions(settings))
    except Exception:  # the table is not there yet
        return 0


def assert_every_event_decided_once(settings: Settings) -> pd.DataFrame:
    rows = decisions(settings)
    keys = rows[["source_name", "source_partition", "source_offset"]].drop_duplicates()
    assert len(rows) == len(keys) == 2 * LOANS
    assert rows.groupby("event_type").loan_id.nunique().to_dict() == {
        "loan.application": LOANS, "loan.performance": LOANS,
    }  # fmt: skip
    quarantined = read_frame(settings, "select reason from live.decision_quarantine")
    assert len(quarantined) == len(BAD_MESSAGES)
    assert quarantined.reason.str.contains("offset").all()
    return rows


def _scorer_env(stream_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**stream_env, "SCORER_METRICS_PORT": "0", "SCORER_CONSUMER_GROUP": "scorer-test",
            "ML_MODEL_DIR": str(tmp_path / "models"), "INGEST_COMMIT_EVERY": "200"}  # fmt: skip


def test_kill_9_twice_and_a_warehouse_outage_decide_every_event_once_on_postgres(
    stream_env, synthetic_csv, tmp_path, monkeypatch
):
    with controlled_cluster() as cluster:
        env = {**_scorer_env(stream_env, tmp_path), **cluster.env, "WAREHOUSE": "postgres"}
        for name, value in cluster.env.items():  # this process reads the same Postgres
            monkeypatch.setenv(name, value)
        settings = Settings.from_env({**os.environ, **env})
        produce(env, synthetic_csv, count=2 * LOANS)
        produce_bad(env)
        crashing = {**env, "INGEST_FAULT_EXIT_AFTER_BATCHES": "1"}
        assert run_scorer(crashing).returncode == 137  # committed, offsets not: replayed
        process = start_scorer(env, until_idle=4)
        after_crash = committed(settings)
        assert after_crash > 0
        wait_for(lambda: committed(settings) > after_crash, what="decisions")
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        after_kill = committed(settings)
        process = start_scorer(env, until_idle=4)
        wait_for(lambda: committed(settings) > after_kill, what="decisions")
        cluster.stop()
        time.sleep(3)
        cluster.start()
        _, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, stderr
        assert "warehouse write failed" in stderr
        rows = assert_every_event_decided_once(settings)
    assert rows.pd.isna().all()  # no champion: rules only
    applications = rows[rows.event_type == "loan.application"]
    assert set(applications.risk_tier) <= {"Low", "Elevated", "Watchlist", "Rejected"}
    assert (rows.decided_at >= rows.event_time - pd.Timedelta(seconds=1)).all()


def _fit_champion(csv_path: Path, model_dir: Path) -> str:
    """A small champion fitted on the fixture's own cleaned applications, as training leaves
    one: artefact, metadata with decile edges and references, and the pointer."""
    lines = csv_path.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if "loan_amnt" in line)
    applications = list(csv.DictReader(lines[header:]))
    cleaned = decide_applications(applications, 2026, project_thresholds(), None)
    features = ["loan_amnt", "int_rate", "dti", "revol_util", "annual_inc"]
    frame = model_frame(pd.DataFrame([c.features | {"grade": None} for c in cleaned]))
    frame = frame[features]
    labels = (frame["int_rate"] > frame["int_rate"].median()).astype(int)
    pipeline = Pipeline([
        ("prepare", ColumnTransformer([("n", SimpleImputer(strategy="median"), features)])),
        ("model", LogisticRegression(max_iter=500)),
    ])  # fmt: skip
    pipeline.fit(frame, labels)
    scores = pipeline.predict_proba(frame)[:, 1]
    run_id = "test-run-logistic"
    metadata = {
        "run_id": run_id, "features": features,
        "decile_edges": list(np.quantile(scores, np.arange(1, 10) / 10)),
        "reference": {name: float(frame[name].median()) for name in features},
    }  # fmt: skip
    path = artifacts.save(model_dir / run_id, pipeline, metadata)
    write_pointer(model_dir, run_id, path)
    return run_id


def test_on_duckdb_the_champion_scores_each_application_and_a_replay_adds_nothing(
    stream_env, synthetic_csv, tmp_path
):
    env = {**_scorer_env(stream_env, tmp_path), "WAREHOUSE": "duckdb",
           "DUCKDB_PATH": str(tmp_path / "w.duckdb")}  # fmt: skip
    settings = Settings.from_env({**os.environ, **env})
    run_id = _fit_champion(synthetic_csv, tmp_path / "models")
    produce(env, synthetic_csv, count=2 * LOANS)
    produce_bad(env)
    first = run_scorer(env)
    assert first.returncode == 0, first.stderr
    rows = assert_every_event_decided_once(settings)
    replay = run_scorer({**env, "SCORER_CONSUMER_GROUP": "a-new-group-replays-the-topics"})
    assert replay.returncode == 0, replay.stderr
    assert len(decisions(settings)) == len(rows)  # every row there already: skipped

    applications = rows[rows.event_type == "loan.application"]
    scored = applications[applications.risk_tier != "Rejected"]
    assert (scored.model_run_id == run_id).all() and scored.pd.between(0, 1).all()
    assert scored.risk_decile.between(1, 10).all() and scored.risk_decile.nunique() == 10
    top = [json.loads(t) for t in scored.top_features]
    assert all(1 <= len(t) <= 3 and t[0]["direction"] in ("raises", "lowers") for t in top)
    performance = rows[rows.event_type == "loan.performance"]
    assert performance.pd.isna().all() and performance.risk_tier.isna().all()
    late = performance[performance.reason_codes.str.contains("BEHAVIOUR_")]
    assert late.rule_flag.all() and not performance.drop(late.index).rule_flag.any()
