"""/metrics listens only where INGEST_METRICS_HOST says (loopback by default)."""

from __future__ import annotations

import socket

import pytest

from ingest.settings import Settings
from ingest.streaming.metrics import IngestMetrics
from tests.postgres_cluster import free_port


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.mark.parametrize(
    ("env", "reachable", "unreachable"),
    [
        ({}, "127.0.0.1", "127.0.0.2"),
        ({"INGEST_METRICS_HOST": "127.0.0.2"}, "127.0.0.2", "127.0.0.1"),
    ],
)
def test_metrics_listen_only_on_the_configured_address(env, reachable, unreachable):
    # Linux routes all of 127.0.0.0/8 to loopback: a wildcard listener would answer on both.
    port = free_port()
    settings = Settings.from_env({**env, "INGEST_METRICS_PORT": str(port)})
    IngestMetrics().serve(settings.metrics_port, settings.metrics_host, lambda: (True, {}))
    assert _answers(reachable, port)
    assert not _answers(unreachable, port)
