"""The S3 lake under faults: a proxy in front of moto_server answers 503 SlowDown to some
requests (as S3 does when throttling), and a file above the multipart threshold goes up in
parts. boto3's standard retry mode must absorb the faults, and the object must round-trip."""

from __future__ import annotations

import http.client
import os
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from exports.lake import MULTIPART_THRESHOLD, open_lake

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
