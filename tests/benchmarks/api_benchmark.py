"""`make bench`: the scoring API's single-application rate and p99 from 16 concurrent clients,
against `GET /health` measured the same way in the same run (the framework's own ceiling on
this machine), and `/score/batch` in loans per second.

The server is `python -m ml serve-api` in its own process with a gradient-boosting champion
(tests/benchmarks/bench_champion.py); the clients are 16 threads in another process, each
with one keep-alive connection, sending real synthetic applications.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from ingest.synthetic import write_synthetic_csv
from tests.benchmarks.bench_champion import fit_champion, read_applications
from tests.postgres_cluster import free_port

CLIENTS = 16
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "15"))
BATCH = 10_000
# A few synthetic rows lack a required field: decided as Rejected, not refused.
LENIENT = "?reject_if_missing_required=false"


def _load(port: int, method: str, path: str, bodies: list[bytes]) -> tuple[float, np.ndarray]:
    """Requests/s and latencies (s) of CLIENTS threads sending for SECONDS."""
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    deadline = time.perf_counter() + SECONDS

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Content-Type": "application/json"}
        n = index
        while time.perf_counter() < deadline:
            body = bodies[n % len(bodies)] if bodies else None
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            latencies[index].append(time.perf_counter() - started)
            n += CLIENTS

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = np.array([x for per_client in latencies for x in per_client])
    return len(flat) / elapsed, flat


def _batch_rate(port: int, body: bytes, loans: int, query: str = "") -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    rounds, started = 3, time.perf_counter()
    for _ in range(rounds):
        connection.request("POST", "/score/batch" + query, body=body,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    return rounds * loans / (time.perf_counter() - started)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="crews-api-bench-") as work:
        csv_path = Path(work) / "loans.csv"
        write_synthetic_csv(csv_path, 20_000, seed=5)
        fit_champion(csv_path, Path(work) / "models")
        applications = [
            {k: v for k, v in a.items() if v} for a in read_applications(csv_path)[:BATCH]
        ]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "ml", "serve-api", "--port", str(port)],
            env={**os.environ, "ML_MODEL_DIR": str(Path(work) / "models")},
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(200):
                try:
                    connection = http.client.HTTPConnection("127.0.0.1", port)
                    connection.request("GET", "/health")
                    if json.loads(connection.getresponse().read())["model_run_id"]:
                        break
                except OSError:
                    pass
                time.sleep(0.1)
            singles = [json.dumps(a).encode() for a in applications[:2_000]]
            health_rate, health_lat = _load(port, "GET", "/health", [])
            score_rate, score_lat = _load(port, "POST", "/score" + LENIENT, singles)
            batch_body = json.dumps(applications).encode()
            lenient = LENIENT
            explained = _batch_rate(port, batch_body, len(applications), lenient)
            plain = _batch_rate(port, batch_body, len(applications), lenient + "&explain=false")
        finally:
            server.terminate()
            server.wait()
    print(f"scoring API, {CLIENTS} concurrent clients, {SECONDS:.0f}s each, one server process")
    for name, rate, lat in (("GET /health", health_rate, health_lat),
                            ("POST /score", score_rate, score_lat)):  # fmt: skip
        print(f"  {name:<12} {rate:8,.0f} req/s   p50 {np.percentile(lat, 50) * 1000:6.1f} ms"
              f"   p99 {np.percentile(lat, 99) * 1000:6.1f} ms")  # fmt: skip
    print(f"  /score rate / /health rate: {score_rate / health_rate:.2f} (target >= 0.5)")
    print(f"  POST /score/batch ({BATCH:,} loans): {explained:,.0f} loans/s with top features, "
          f"{plain:,.0f} loans/s without (target >= 50,000)")  # fmt: skip


if __name__ == "__main__":
    main()
