import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ingest.events import parse_lc_month
from ingest.synthetic import LENDINGCLUB_COLUMNS, generate_lines, write_synthetic_csv


@pytest.fixture(scope="module")
def loans(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("gen") / "loans.csv"
    write_synthetic_csv(path, count=40_000, seed=3)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _digest(count: int, seed: int, workers: int) -> str:
    digest = hashlib.sha256()
    for text in generate_lines(count, seed, workers=workers):
        digest.update(text.encode())
    return digest.hexdigest()


def test_same_seed_same_bytes_whatever_the_worker_count():
    assert _digest(1_500, 5, workers=1) == _digest(1_500, 5, workers=2)
    assert _digest(1_500, 5, workers=1) != _digest(1_500, 6, workers=1)


def test_columns_are_the_real_exports(loans):
    assert list(loans.columns) == LENDINGCLUB_COLUMNS
    assert len(LENDINGCLUB_COLUMNS) == 151
    assert loans["id"].is_unique


def test_raw_formats_of_the_real_files(loans):
    assert set(loans["term"]) == {" 36 months", " 60 months"}
    assert loans["int_rate"].str.endswith("%").mean() == pytest.approx(0.1, abs=0.02)
    assert (loans["dti"] == "999").sum() > 0
    dti = pd.to_numeric(loans["dti"], errors="coerce")
    assert ((dti > 100) & (dti != 999)).sum() > 0
    assert (loans["dti"] == "").sum() > 0
    assert loans["issue_d"].str.match(r"^[A-Z][a-z]{2}-\d{2}$").mean() > 0.04  # 'Feb-02'
    assert loans["issue_d"].str.match(r"^\d{2}-[A-Z][a-z]{2}$").mean() > 0.01  # '18-Dec'
    assert {"", "n/a", "< 1 year", "10+ years"} <= set(loans["emp_length"])
    assert loans["annual_inc"].str.endswith(".0").all()


def test_joint_distributions_look_like_lending_club(loans):
    assert set(loans["grade"]) == set("ABCDEFG")
    rate = pd.to_numeric(loans["int_rate"].str.replace("%", ""), errors="coerce")
    by_grade = rate.groupby(loans["grade"]).mean()
    assert by_grade.is_monotonic_increasing
    statuses = set(loans["loan_status"])
    assert {
        "Current",
        "Fully Paid",
        "Charged Off",
        "In Grace Period",
        "Late (31-120 days)",
        "Late (16-30 days)",
        "Does not meet the credit policy. Status:Fully Paid",
    } <= statuses
    years = loans["issue_d"].map(lambda t: parse_lc_month(t, 2026).year)
    assert years.nunique() >= 8


def test_a_model_on_origination_fields_reaches_the_real_data_auc_band(loans):
    resolved = loans[loans["loan_status"].str.contains("Fully Paid|Charged Off")].copy()
    label = resolved["loan_status"].str.contains("Charged Off").astype(int)
    assert label.mean() == pytest.approx(0.2, abs=0.05)
    number = lambda col: pd.to_numeric(resolved[col].str.replace("%", ""), errors="coerce")  # noqa: E731
    features = pd.DataFrame(
        {
            "loan_amnt": number("loan_amnt"),
            "int_rate": number("int_rate"),
            "dti": number("dti").where(lambda v: v <= 100),
            "revol_util": number("revol_util"),
            "delinq_2yrs": number("delinq_2yrs"),
            "inq_last_6mths": number("inq_last_6mths"),
            "fico": number("fico_range_low"),
            "log_income": np.log(number("annual_inc")),
            "term": resolved["term"],
            "grade": resolved["grade"],
            "purpose": resolved["purpose"],
            "home": resolved["home_ownership"],
        }
    )
    features = features.fillna(features.median(numeric_only=True))
    issued = resolved["issue_d"].map(lambda t: parse_lc_month(t, 2026))
    order = issued.sort_values(kind="stable").index
    cut = int(len(order) * 0.8)
    train, test = order[:cut], order[cut:]
    assert issued[train].max() <= issued[test].min()  # out of time
    numeric = [
        "loan_amnt",
        "int_rate",
        "dti",
        "revol_util",
        "delinq_2yrs",
        "inq_last_6mths",
        "fico",
        "log_income",
    ]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("numeric", StandardScaler(), numeric),
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore"),
                    ["term", "grade", "purpose", "home"],
                ),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(features.loc[train], label[train])
    auc = roc_auc_score(label[test], model.predict_proba(features.loc[test])[:, 1])
    assert 0.68 <= auc <= 0.76
