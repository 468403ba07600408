"""The model metrics on small cases worked out by hand."""

import numpy as np
import pytest

from ml.metrics import (
    decile_table,
    deciles_from_edges,
    evaluate,
    flag_lift,
    ks_statistic,
    score_deciles,
)


def test_auc_gini_ks_and_brier_on_a_hand_made_case():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    metrics = evaluate(labels, scores)
    # Pairs (bad, good) ranked right: (0.35>0.1), (0.8>0.1), (0.8>0.4); wrong: (0.35<0.4).
    assert metrics["auc"] == pytest.approx(0.75)
    assert metrics["gini"] == pytest.approx(0.5)
    # Above 0.35 sit both bads and one good: TPR 1.0 - FPR 0.5 is the widest gap.
    assert metrics["ks"] == pytest.approx(0.5)
    assert metrics["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert metrics["default_rate"] == 0.5


def test_a_perfect_score_has_ks_one():
    assert ks_statistic(np.array([0, 0, 1]), np.array([0.1, 0.2, 0.9])) == pytest.approx(1.0)


def test_deciles_rank_scores_with_ten_the_riskiest():
    scores = np.arange(20) / 20
    assert score_deciles(scores).tolist() == [d for d in range(1, 11) for _ in range(2)]
    assert score_deciles(scores[::-1])[0] == 10


def test_a_score_takes_the_decile_its_pd_falls_in_among_the_fixed_edges():
    edges = np.arange(1, 10) / 10  # 0.1 .. 0.9
    scores = np.array([0.0, 0.05, 0.1, 0.15, 0.55, 0.9, 0.95, 1.0])
    # Below the first edge: decile 1; on an edge: the decile above it; above the last: 10.
    assert deciles_from_edges(scores, edges).tolist() == [1, 1, 2, 2, 6, 10, 10, 10]


def test_fixed_deciles_do_not_move_when_the_book_changes():
    rng = np.random.default_rng(3)
    edges = np.quantile(rng.random(1000), np.arange(1, 10) / 10)
    book = rng.random(50)
    alone = deciles_from_edges(book, edges)
    # The same loans scored among 5,000 riskier ones, or one at a time: the same deciles.
    crowd = np.concatenate([book, rng.random(5000) * 0.1 + 0.9])
    assert deciles_from_edges(crowd, edges)[:50].tolist() == alone.tolist()
    assert [int(deciles_from_edges(np.array([s]), edges)[0]) for s in book] == alone.tolist()


def test_decile_table_lift_is_the_decile_rate_over_the_overall_rate():
    labels = np.array([0] * 18 + [1, 1])  # the two riskiest loans default
    table = decile_table(labels, np.arange(20) / 20)
    assert table["loans"].tolist() == [2] * 10
    assert table["default_rate"].tolist() == [0] * 9 + [1.0]
    assert table["lift"].iloc[-1] == pytest.approx(1.0 / 0.1)
    assert table["mean_score"].iloc[0] == pytest.approx(0.025)


def test_flag_lift_compares_flagged_loans_with_the_book():
    labels = np.array([1, 0, 0, 0, 1, 0, 0, 0])
    assert flag_lift(labels, np.array([1, 1, 0, 0, 0, 0, 0, 0])) == pytest.approx(0.5 / 0.25)
    assert np.isnan(flag_lift(labels, np.zeros(8)))
