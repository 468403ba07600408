"""The local Superset's process gets only the variables it needs: no warehouse or S3 secret."""

from __future__ import annotations

from exports.superset_local import PASSED_THROUGH, LocalSuperset

SECRETS = {
    "PGPASSWORD": "owner-pw",
    "SUPERSET_PG_PASSWORD": "reader-pw",
    "SUPERSET_PASSWORD": "admin-pw",
    "SUPERSET_SECRET_KEY": "the-compose-key",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
    "AWS_ACCESS_KEY_ID": "aws-id",
    "SOME_TOKEN": "token",
}


def test_superset_gets_its_own_settings_and_nothing_else(tmp_path, monkeypatch):
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    env = LocalSuperset(tmp_path).env()
    own = {
        "SUPERSET_CONFIG_PATH",
        "SUPERSET_HOME",
        "SUPERSET_SECRET_KEY",
        "FLASK_APP",
        "PYTHONWARNINGS",
    }
    assert set(env) <= own | set(PASSED_THROUGH)
    assert own <= set(env) and "PATH" in env
    assert not set(env.values()) & set(SECRETS.values())  # its own generated key, not ours
