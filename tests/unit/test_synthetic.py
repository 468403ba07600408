import csv
import dataclasses
import hashlib
import io

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
from ingest.synthetic.export_text import csv_text, month_text
from ingest.synthetic.generate import simulate_chunk
from ingest.synthetic.originate import originate
from ingest.synthetic.run_forward import (
    amortised_balance,
    draw_fate,
    run_forward,
    standing_after,
)
from ingest.synthetic.tables import EXPORT_MONTH


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


@pytest.fixture(scope="module")
def phases():
    rng = np.random.default_rng(11)
    loans = originate(rng, 20_000)
    return loans, run_forward(rng, loans)


def test_nothing_happens_after_the_export_date(phases):
    loans, at = phases
    fate, standing, status = at.fate, at.standing, at.status
    on_book = EXPORT_MONTH - loans.issue
    assert (standing.on_book == on_book).all()
    assert (fate.default_at[standing.charged_off] + 5 <= on_book[standing.charged_off]).all()
    assert (fate.default_at[standing.late] <= on_book[standing.late]).all()
    assert (fate.payoff_at[standing.paid_off] <= on_book[standing.paid_off]).all()
    paid = np.isin(status, ["Fully Paid", "Does not meet the credit policy. Status:Fully Paid"])
    assert (standing.paid_off == paid).all()
    charged = np.char.find(status.astype(str), "Charged Off") >= 0
    assert (charged <= standing.charged_off).all()
    late = np.char.startswith(status.astype(str), "Late")
    assert (late <= standing.late).all()
    assert (at.payments.last_payment <= EXPORT_MONTH).all()
    assert (at.payments.paid_months <= on_book).all()


def test_a_loans_standing_only_moves_forward(phases):
    loans, _ = phases
    fate = draw_fate(np.random.default_rng(5), loans)
    at_issue = standing_after(fate, np.zeros_like(loans.issue))
    assert not (at_issue.charged_off | at_issue.late | at_issue.paid_off).any()
    before = at_issue
    for month in range(1, 61):
        now = standing_after(fate, np.full_like(loans.issue, month))
        assert (before.charged_off <= now.charged_off).all()
        assert (before.paid_off <= now.paid_off).all()
        assert not (now.charged_off & now.late).any()
        assert not ((now.charged_off | now.late) & now.paid_off).any()
        before = now
    assert (before.paid_off | before.charged_off).all()  # every loan resolves by its term


def test_amortised_balances_run_down_to_zero_and_never_below(phases):
    loans, at = phases
    monthly_rate = loans.rate / 1200
    balances = np.array(
        [
            amortised_balance(
                loans.amount, monthly_rate, loans.installment, np.full_like(loans.term, k)
            )
            for k in range(0, 61)
        ]
    )
    assert (balances >= 0).all()
    assert (np.diff(balances, axis=0) <= 1e-9).all()
    assert np.allclose(balances[0], loans.amount)
    at_term = balances[loans.term, np.arange(len(loans.term))]
    assert np.allclose(at_term, 0, atol=1e-6)
    paid = at.payments
    assert (paid.balance >= 0).all() and (paid.out_principal >= 0).all()
    assert (paid.principal_paid <= loans.amount + 1e-9).all()
    assert (paid.out_principal[~at.standing.active] == 0).all()


def test_months_in_the_three_styles_of_the_real_files():
    march_2019 = np.full(3, EXPORT_MONTH)
    assert month_text(march_2019, np.array([0, 1, 2])).tolist() == ["Mar-2019", "Mar-19", "19-Mar"]


def test_chunk_text_reads_back_as_its_columns_through_the_csv_module():
    rng = np.random.default_rng(2)
    columns = simulate_chunk(rng, 2_000, first_id=1)
    columns["emp_title"][0] = 'quote " comma , newline \n end'
    rows = list(csv.reader(io.StringIO(csv_text(columns), newline="")))
    assert len(rows) == 2_000
    for i, name in enumerate(LENDINGCLUB_COLUMNS):
        assert [row[i] for row in rows] == columns[name].tolist(), name


def test_loans_issued_three_months_before_the_export_are_all_still_current(phases):
    loans, _ = phases
    recent = dataclasses.replace(loans, issue=np.full_like(loans.issue, EXPORT_MONTH - 3))
    at = run_forward(np.random.default_rng(1), recent)
    # The first missed payment comes four months in at the earliest, a prepayment six.
    assert not (at.standing.charged_off | at.standing.late | at.standing.paid_off).any()
    assert set(at.status) <= {"Current", "In Grace Period"}  # a few miss a day and cure
