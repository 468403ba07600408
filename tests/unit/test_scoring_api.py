"""The scoring API in process (FastAPI's test client, no server, no warehouse): the original's
answer shape, 422 naming a missing field or tier Rejected when asked, batches, metrics, and a
champion picked up from its pointer without a restart, kept when its replacement is tampered."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from ml import artifacts
from ml.serving.api import create_app
from ml.serving.champion import write_pointer

APPLICATION = {
    "id": "68407277", "loan_amnt": "3600", "int_rate": " 13.99%", "annual_inc": "55000",
    "dti": "5.91", "issue_d": "Dec-2015", "earliest_cr_line": "Aug-2003", "revol_util": "29.7%",
    "delinq_2yrs": "0", "inq_last_6mths": "1", "term": " 36 months", "grade": "C",
}  # fmt: skip
FEATURES = ["int_rate", "dti"]


def _champion(model_dir, run_id: str, rate_weight: float) -> None:
    """A logistic model on two features whose coefficients we set: PD rises with the rate."""
    frame = pd.DataFrame({"int_rate": [5.0, 25.0], "dti": [10.0, 10.0]})
    model = LogisticRegression().fit(frame, [0, 1])
    model.coef_ = np.array([[rate_weight, 0.01]])
    model.intercept_ = np.array([-15 * rate_weight])
    pipeline = Pipeline([("model", model)])
    metadata = {"run_id": run_id, "features": FEATURES,
                "decile_edges": [0.1 * i for i in range(1, 10)],
                "reference": {"int_rate": 15.0, "dti": 10.0}}  # fmt: skip
    write_pointer(model_dir, run_id, artifacts.save(model_dir / run_id, pipeline, metadata))


@pytest.fixture
def client(tmp_path):
    return TestClient(create_app(tmp_path, check_seconds=0))


def test_an_application_gets_features_decision_and_no_model_before_training(client):
    answer = client.post("/score", json=APPLICATION)
    assert answer.status_code == 200
    body = answer.json()
    assert body["loan_id"] == 68407277 and body["valid"] and body["missing_required"] == []
    assert body["features"]["int_rate"] == 13.99 and body["features"]["issue_date"] == "2015-12-01"
    assert body["features"]["credit_history_years"] == 12 + 4 / 12
    assert body["decision"] == {
        "dti_band": "0-10", "util_band": "0-40", "rate_band": "10-15",
        "early_warning_flag": False, "risk_tier": "Low", "reasons": [],
    }  # fmt: skip
    assert body["model"] == {"run_id": None, "pd": None, "risk_decile": None, "top_features": []}


def test_a_missing_required_field_is_named_or_rejected_as_the_original_did(client):
    application = {**APPLICATION, "dti": "", "earliest_cr_line": "soon"}
    refused = client.post("/score", json=application)
    assert refused.status_code == 422
    assert [e["loc"][-1] for e in refused.json()["detail"]] == ["dti", "earliest_cr_line"]
    rejected = client.post("/score?reject_if_missing_required=false", json=application).json()
    assert rejected["decision"]["risk_tier"] == "Rejected"
    assert rejected["decision"]["reasons"] == ["MISSING_REQUIRED_FIELDS"]
    assert rejected["missing_required"] == ["dti", "earliest_cr_line"] and not rejected["valid"]
    batch = client.post("/score/batch", json=[APPLICATION, application])
    assert batch.status_code == 422 and batch.json()["detail"][0]["loc"] == ["body", 1, "dti"]


def test_the_champion_is_picked_up_and_replaced_without_a_restart(client, tmp_path):
    assert client.get("/health").json()["model_run_id"] is None
    _champion(tmp_path, "run-1", rate_weight=0.5)
    model = client.post("/score", json=APPLICATION).json()["model"]
    assert model["run_id"] == "run-1"
    expected = 1 / (1 + np.exp(-(0.5 * 13.99 + 0.01 * 5.91 - 7.5)))
    assert model["pd"] == pytest.approx(expected)
    assert model["risk_decile"] == int(expected // 0.1) + 1
    top = model["top_features"][0]
    assert top["feature"] == "int_rate" and top["direction"] == "lowers"  # 13.99 < 15
    _champion(tmp_path, "run-2", rate_weight=1.0)
    assert client.post("/score", json=APPLICATION).json()["model"]["run_id"] == "run-2"
    (tmp_path / "run-2" / "model.joblib").write_bytes(b"tampered")
    _champion_pointer_touch(tmp_path)
    health = client.get("/health").json()
    assert health["model_run_id"] == "run-2" and "checksum" in health["model_error"]
    _champion(tmp_path, "run-3", rate_weight=1.0)
    metadata = json.loads((tmp_path / "run-3" / "metadata.json").read_text())
    del metadata["features"]  # checksummed artefact, unusable metadata
    (tmp_path / "run-3" / "metadata.json").write_text(json.dumps(metadata))
    _champion_pointer_touch(tmp_path, "run-3")
    health = client.get("/health").json()
    assert health["model_run_id"] == "run-2" and "KeyError" in health["model_error"]
    assert client.post("/score", json=APPLICATION).json()["model"]["run_id"] == "run-2"


def _champion_pointer_touch(model_dir, run_id: str = "run-2") -> None:
    write_pointer(model_dir, run_id, model_dir / run_id / "model.joblib")
    pointer = model_dir / "champion.json"
    pointer.write_text(pointer.read_text() + " ")  # a new size: seen as a change


def test_batches_and_metrics_count_every_request_and_tier(client):
    risky = {**APPLICATION, "dti": "35", "inq_last_6mths": "3"}
    answers = client.post("/score/batch", json=[APPLICATION, risky, risky]).json()
    assert [a["decision"]["risk_tier"] for a in answers] == ["Low", "Watchlist", "Watchlist"]
    assert answers[1]["decision"]["reasons"] == ["DTI>=30", "INQ_LAST_6MTHS>=2"]
    client.post("/score", json={"loan_amnt": "1"})
    metrics = client.get("/metrics").text
    assert 'score_api_decisions_total{tier="Watchlist"} 2.0' in metrics
    assert 'score_api_requests_total{endpoint="/score",status="422"} 1.0' in metrics
    assert 'score_api_requests_total{endpoint="/score/batch",status="200"} 1.0' in metrics
    assert 'score_api_request_duration_seconds_bucket{endpoint="/score",le="0.25"}' in metrics


def test_a_body_that_is_not_one_json_object_is_a_422_naming_the_problem(client):
    answers = {
        kind: client.post("/score", content=body, headers={"content-type": "application/json"})
        for kind, body in [("missing", b""), ("json_invalid", b"{bad"), ("dict_type", b"[1]")]
    }
    for kind, answer in answers.items():
        assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == kind
    plain = client.post(
        "/score", content=json.dumps(APPLICATION), headers={"content-type": "text/plain"}
    )
    assert plain.status_code == 422 and plain.json()["detail"][0]["type"] == "dict_type"
    for depth in (999, 1023):  # orjson reads it; the standard library cannot write it back
        deep = b'{"loan_amnt":' + b"[" * depth + b"]" * depth + b"}"
        answer = client.post("/score?reject_if_missing_required=false", content=deep)
        assert answer.status_code == 200 and answer.json()["unparseable"] == [
            "loan_amnt_unparseable"
        ]
    schema = client.get("/openapi.json").json()["paths"]["/score"]["post"]["requestBody"]
    assert schema["required"] and "application/json" in schema["content"]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.dictionaries(st.sampled_from(sorted(APPLICATION)), st.text(max_size=12) | st.integers() | st.floats() | st.none()).map(lambda d: json.dumps(d).encode()))  # fmt: skip
def test_any_body_is_answered_200_or_422_never_an_error(body):
    with tempfile.TemporaryDirectory() as model_dir:
        client = TestClient(create_app(Path(model_dir), check_seconds=0))
        for path in ("/score", "/score?reject_if_missing_required=false"):
            answer = client.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code in (200, 422), answer.text
