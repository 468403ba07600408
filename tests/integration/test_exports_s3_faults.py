"""The S3 lake under faults: a proxy in front of moto_server answers 503 SlowDown to some
requests (as S3 does when throttling), and a file above the multipart threshold goes up in
parts. boto3's standard retry mode must absorb the faults, and the object must round-trip.
An endpoint that cannot be connected to (closed port, black hole, gone mid-run) must be a
one-line LakeError within seconds, from the API and from `python -m exports`."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from exports.lake import CONNECT_TIMEOUT_SECONDS, MULTIPART_THRESHOLD, LakeError, open_lake
from tests.conftest import REPO_ROOT
from tests.postgres_cluster import free_port

PART_ONE = r"partNumber=1(&|$)"
SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


class FlakyS3Proxy(ThreadingHTTPServer):
    """Forwards to the real endpoint, except that the first `faults` requests whose path and
    query match the regex `fault_on` get a 503 instead. Records every request it saw."""

    def __init__(self, upstream: str, fault_on: str, faults: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = urlsplit(upstream)
        self.fault_on, self.faults_left = fault_on, faults
        self.seen: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take_fault(self, path: str) -> bool:
        with self.lock:
            if re.search(self.fault_on, path) and self.faults_left > 0:
                self.faults_left -= 1
                return True
            return False


class _ProxyHandler(BaseHTTPRequestHandler):
    server: FlakyS3Proxy

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.server.take_fault(self.path):
            status, headers, payload = 503, {"Content-Type": "application/xml"}, SLOW_DOWN
        else:
            upstream = http.client.HTTPConnection(self.server.upstream.netloc, timeout=60)
            upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
            response = upstream.getresponse()
            status, payload = response.status, response.read()
            headers = {k: v for k, v in response.getheaders() if k.lower() != "transfer-encoding"}
            upstream.close()
        self.server.seen.append((self.command, self.path, status))
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    def log_message(self, format: str, *args) -> None:  # quiet
        pass


@pytest.fixture
def flaky_lake(s3_endpoint, monkeypatch, request) -> Iterator[tuple]:
    fault_on, faults = request.param
    bucket = f"flaky-{uuid.uuid4().hex[:8]}"
    s3_endpoint.create_bucket(Bucket=bucket)
    proxy = FlakyS3Proxy(os.environ["AWS_ENDPOINT_URL"], fault_on, faults)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.url)
    try:
        yield open_lake(f"s3://{bucket}/lake"), proxy, s3_endpoint, bucket
    finally:
        proxy.shutdown()


@pytest.mark.parametrize("flaky_lake", [(PART_ONE, 3)], indirect=True)
def test_a_large_file_goes_up_in_parts_through_throttling(flaky_lake, tmp_path):
    lake, proxy, s3, bucket = flaky_lake
    big = tmp_path / "big.parquet"
    block = os.urandom(1024 * 1024)
    with big.open("wb") as out:
        for _ in range(MULTIPART_THRESHOLD // len(block) + 3):
            out.write(block)
    lake.put_file(big, "snapshots/big.parquet")

    parts = [(path, status) for _, path, status in proxy.seen if "partNumber=" in path]
    assert any("uploads" in path for _, path, _ in proxy.seen), "no multipart upload was started"
    # Part 1 was throttled three times in a row, then went through.
    assert [status for path, status in parts if re.search(PART_ONE, path)] == [503, 503, 503, 200]
    assert len({path for path, status in parts if status == 200}) >= 2, "one part only"
    stored = s3.get_object(Bucket=bucket, Key="lake/snapshots/big.parquet")["Body"].read()
    assert stored == big.read_bytes()


@pytest.mark.parametrize("flaky_lake", [("", 4)], indirect=True)
def test_small_writes_and_reads_retry_through_throttling(flaky_lake):
    lake, proxy, _, _ = flaky_lake  # the first 4 requests of any kind are throttled
    lake.put_bytes(b'{"ok": true}', "manifest.json")
    assert lake.get_bytes("manifest.json") == b'{"ok": true}'
    assert [status for _, _, status in proxy.seen].count(503) == 4


def _black_hole() -> tuple[socket.socket, list[socket.socket]]:
    """A port that never completes a connection: its accept queue is full, so Linux drops
    further SYNs and a client waits for its connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(listener.getsockname())
        fillers.append(filler)
    time.sleep(0.2)
    return listener, fillers


def _assert_fast_one_line_error(call, endpoint: str, limit: float) -> None:
    started = time.monotonic()
    with pytest.raises(LakeError) as raised:
        call()
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert "\n" not in message and endpoint in message and "AWS_ENDPOINT_URL" in message
    assert elapsed < limit, f"took {elapsed:.1f}s"


def test_a_closed_port_is_a_lake_error_at_once(s3_endpoint, monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    _assert_fast_one_line_error(lambda: open_lake("s3://lake/x"), endpoint, limit=3)


def test_a_black_hole_is_a_lake_error_after_one_connect_timeout(s3_endpoint, monkeypatch):
    listener, fillers = _black_hole()
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        _assert_fast_one_line_error(
            lambda: open_lake("s3://lake/x"), endpoint, limit=CONNECT_TIMEOUT_SECONDS + 3
        )
    finally:
        for sock in (listener, *fillers):
            sock.close()


@pytest.mark.parametrize("flaky_lake", [("$^", 0)], indirect=True)
def test_an_endpoint_gone_mid_run_is_a_lake_error_at_once(flaky_lake, tmp_path):
    lake, proxy, _, _ = flaky_lake
    lake.put_bytes(b"1", "first.json")
    proxy.shutdown()
    proxy.server_close()  # the port now refuses connections
    _assert_fast_one_line_error(lambda: lake.put_bytes(b"2", "second.json"), proxy.url, limit=3)
    local = tmp_path / "part.parquet"
    local.write_bytes(b"3")
    _assert_fast_one_line_error(lambda: lake.put_file(local, "part.parquet"), proxy.url, limit=3)
    _assert_fast_one_line_error(lambda: lake.list_keys(""), proxy.url, limit=3)


def test_the_cli_prints_one_error_line_and_exits_non_zero(s3_endpoint):
    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "LAKE_URL": "s3://lake/exports"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "exports", "snapshot"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and endpoint in line, done.stderr
    assert elapsed < 15, f"took {elapsed:.1f}s"
