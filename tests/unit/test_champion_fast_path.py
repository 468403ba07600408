"""The boosted champion's fast path (its compiled trees on a float matrix) gives the pipeline's
own `predict_proba`, to the last bit, on every kind of row: known, unknown and missing
categories, missing and extreme numbers; any other champion, or a fast path that disagrees,
goes through the pipeline. And whichever path, a loan scored on arrival gets what batch
scoring gives it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.calibration import Calibration
from ml.candidates import candidates
from ml.explain import is_logistic, transformed_means
from ml.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, RICH_FEATURES, model_frame
from ml.scoring import predictions
from ml.serving import champion
from ml.serving.champion import LoadedChampion
from ml.training import reference_values

CATEGORIES = {"grade": list("ABCDEFG"), "home_ownership": ["RENT", "OWN", "MORTGAGE"]}


def _records(rng: np.random.Generator, n: int) -> list[dict]:
    records = []
    for _ in range(n):
        record: dict = {}
        for name in NUMERIC_FEATURES:
            record[name] = None if rng.random() < 0.1 else float(rng.normal(10, 8))
        for name in CATEGORICAL_FEATURES:
            choices = CATEGORIES.get(name, ["x", "y", "z"])
            draw = rng.random()
            record[name] = None if draw < 0.1 else "unseen" if draw < 0.15 else rng.choice(choices)
        records.append(record)
    return records


def _fitted(name: str, seed: int = 7):
    rng = np.random.default_rng(seed)
    train = pd.DataFrame(_records(rng, 600)).replace({None: np.nan})
    train[list(CATEGORICAL_FEATURES)] = train[list(CATEGORICAL_FEATURES)].fillna("missing")
    score = train["int_rate"].fillna(0) / 10 + (train["grade"] == "G") * 2
    target = (score + rng.normal(0, 1, len(train)) > 2).astype(int)
    (candidate,) = [c for c in candidates(seed) if c.name == name]
    pipeline = candidate.pipeline.fit(train[list(candidate.features)], target)
    metadata = {"run_id": name, "features": list(candidate.features)}
    return pipeline, metadata, _records(np.random.default_rng(seed + 1), 300)


def _pipeline_pds(pipeline, features, records) -> np.ndarray:
    frame = champion.model_frame_from_records(records, features)
    return pipeline.predict_proba(frame)[:, 1]


def test_boosted_trees_score_exactly_as_the_pipeline_does():
    pipeline, metadata, records = _fitted("gradient_boosting")
    loaded = LoadedChampion(pipeline, metadata)
    assert type(loaded.model) is champion._BoostedTrees
    fast = loaded.model.predict(loaded.model.encode(records))
    np.testing.assert_array_equal(fast, _pipeline_pds(pipeline, RICH_FEATURES, records))
    assert [o.pd for o in loaded.score(records, explain=False)] == list(fast)


@pytest.mark.parametrize("name", ["baseline_logistic", "rich_logistic"])
def test_other_champions_go_through_their_pipeline(name):
    pipeline, metadata, records = _fitted(name)
    loaded = LoadedChampion(pipeline, metadata)
    assert type(loaded.model) is champion._Pipeline
    pds = [o.pd for o in loaded.score(records, explain=False)]
    np.testing.assert_allclose(pds, _pipeline_pds(pipeline, metadata["features"], records))


def test_a_fast_path_that_disagrees_on_the_probe_rows_is_not_used(monkeypatch, caplog):
    pipeline, metadata, _ = _fitted("gradient_boosting")
    exact = champion._BoostedTrees.predict
    monkeypatch.setattr(
        champion._BoostedTrees, "predict", lambda self, columns: exact(self, columns) + 1e-9
    )
    assert type(LoadedChampion(pipeline, metadata).model) is champion._Pipeline
    assert "scored through its pipeline" in caplog.text


@pytest.mark.parametrize("name", ["rich_logistic", "gradient_boosting"])
def test_the_api_and_batch_scoring_give_a_loan_the_same_pd_decile_and_reasons(name):
    """One seam: a loan scored on arrival (LoadedChampion) and by `ml score` (predictions)
    gets the same calibrated PD, the same fixed decile and the same top three reasons."""
    pipeline, metadata, records = _fitted(name)
    train = pd.DataFrame(_records(np.random.default_rng(3), 400))
    x_train = model_frame(train)[metadata["features"]]
    metadata |= {
        "calibration": Calibration(0.8, -0.3, "platt").as_record(),
        "decile_edges": list(np.arange(1, 10) / 10),
        "reference": reference_values(x_train, tuple(metadata["features"])),
        "transformed_means": (
            transformed_means(pipeline, x_train) if is_logistic(pipeline) else None
        ),
    }
    loans = pd.DataFrame(records).assign(loan_id=range(len(records)))
    batch = predictions(pipeline, metadata, loans, name)
    served = LoadedChampion(pipeline, metadata).score(records)
    np.testing.assert_allclose([o.pd for o in served], batch["pd"], rtol=1e-12)
    assert [o.risk_decile for o in served] == batch["risk_decile"].tolist()
    reasons = [";".join(f"{t.feature}:{t.direction}" for t in o.top_features) for o in served]
    assert reasons == batch["top_features"].tolist()
