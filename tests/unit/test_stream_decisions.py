"""The stream scorer's checkpoint, without Kafka: messages to decision and quarantine rows, and
their write skipping what is already there (a replay), a checkpoint of bad messages only
included, on a real DuckDB file."""

from __future__ import annotations

from datetime import datetime

from ingest.events import APPLICATION, PERFORMANCE, LoanEvent
from ingest.settings import Settings
from ingest.warehouse.session import open_session
from ml.serving.champion import ChampionWatcher
from ml.serving.rules import project_thresholds
from ml.serving.stream import decision_frames, write_checkpoint

TOPICS = {"apps": APPLICATION, "perf": PERFORMANCE}
AT = datetime(2026, 12, 2, 12, 0, 0)


def _frames(messages, tmp_path):
    watcher = ChampionWatcher(tmp_path / "no-models")
    return decision_frames(messages, TOPICS, 1_000_000, project_thresholds(), watcher, AT)


def _write(tmp_path, decisions, quarantine) -> tuple[int, int]:
    session = open_session(Settings(duckdb_path=tmp_path / "w.duckdb"))
    with session, session.transaction():
        return write_checkpoint(session, decisions, quarantine)


def test_a_checkpoint_decides_each_event_and_a_replay_adds_nothing(tmp_path):
    application = LoanEvent.create(APPLICATION, "7", "2017-03-01T00:00:00Z", "t", {
        "loan_amnt": "1000", "annual_inc": "50000", "dti": "35", "int_rate": "21%",
        "issue_d": "Mar-2017", "earliest_cr_line": "Jan-2001", "inq_last_6mths": "3",
    })  # fmt: skip
    late = LoanEvent.create(PERFORMANCE, "7", "2017-09-01T00:00:00Z", "t",
                            {"loan_status": "Late (31-120 days)"})  # fmt: skip
    messages = [
        (application.to_json(), 1_764_676_800_000, "apps", 0, 5),
        (late.to_json(), 1_764_676_801_000, "perf", 1, 9),
        (b"\x00 not json", 1_764_676_802_000, "apps", 0, 6),
    ]
    decisions, quarantine = _frames(messages, tmp_path)
    rows = decisions.set_index("event_type")
    assert rows.loc[APPLICATION, "risk_tier"] == "Watchlist" and rows.loc[APPLICATION, "rule_flag"]
    assert rows.loc[APPLICATION, "reason_codes"] == '["DTI>=30","INQ_LAST_6MTHS>=2"]'
    assert rows.loc[PERFORMANCE, "reason_codes"] == '["BEHAVIOUR_LATE_31_120"]'
    assert decisions.pd.isna().all() and len(quarantine) == 1
    assert quarantine.reason[0].startswith("apps[0] offset 6:")
    assert _write(tmp_path, decisions, quarantine) == (2, 1)
    assert _write(tmp_path, decisions, quarantine) == (0, 0)  # the replay of the checkpoint


def test_a_checkpoint_of_bad_messages_only_is_quarantined(tmp_path):
    decisions, quarantine = _frames([(b"{}", 1_764_676_800_000, "perf", 2, 0)], tmp_path)
    assert decisions.empty and len(quarantine) == 1
    assert _write(tmp_path, decisions, quarantine) == (0, 1)
