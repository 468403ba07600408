"""The lake: a local folder (`file://...`) or an S3 prefix (`s3://bucket/prefix`), one API.

S3 goes through boto3 with the standard credential chain and endpoint (`AWS_ENDPOINT_URL` for
MinIO or moto), botocore's standard retry mode (backoff on throttling and 5xx), and managed
multipart uploads for large files. Errors a user can fix (no credentials, no bucket, an
endpoint that cannot be reached) are raised as LakeError with what to do.

An endpoint that cannot be connected to (refused, or no answer within
CONNECT_TIMEOUT_SECONDS) fails at once instead of going through the retries: with them it took
about 40 s of backoff to end in a traceback. A TCP connection to S3 or MinIO is set up in
milliseconds, so 5 s only cuts off a dead one (a black-holed endpoint fails in 5.5 s, a
refused one at once, measured by the tests). Throttling, 5xx and connections dropped
mid-request are still retried.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

MULTIPART_THRESHOLD = 64 * 1024 * 1024
RETRY_ATTEMPTS = 8
CONNECT_TIMEOUT_SECONDS = 5


class LakeError(RuntimeError):
    """The lake cannot be reached or written, with the reason and the fix."""


@dataclass(frozen=True)
class LakeObject:
    key: str
    modified: datetime  # UTC; S3 gives a multipart upload the time it was started


class Lake(Protocol):
    url: str

    def put_file(self, local: Path, key: str) -> None: ...
    def put_bytes(self, data: bytes, key: str) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...  # FileNotFoundError when there is no such key
    def list_objects(self, prefix: str) -> list[LakeObject]: ...  # sorted by key
    def delete_keys(self, keys: list[str]) -> None: ...

    def list_keys(self, prefix: str) -> list[str]:
        return [item.key for item in self.list_objects(prefix)]


class LocalLake(Lake):
    """A folder; every write goes to a temporary name first and is renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.url = f"file://{root}"

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_file(self, local: Path, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        shutil.copyfile(local, partial)
        os.replace(partial, target)

    def put_bytes(self, data: bytes, key: str) -> None:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def list_objects(self, prefix: str) -> list[LakeObject]:
        base = self._path(prefix)
        if not base.exists():
            return []
        return sorted(
            (
                LakeObject(
                    str(p.relative_to(self.root)),
                    datetime.fromtimestamp(p.stat().st_mtime, UTC),
                )
                for p in base.rglob("*")
                if p.is_file() and not p.name.endswith(".partial")
            ),
            key=lambda item: item.key,
        )

    def delete_keys(self, keys: list[str]) -> None:
        for key in keys:
            self._path(key).unlink(missing_ok=True)


class S3Lake(Lake):
    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        # A session of its own: the default one caches credentials across lakes.
        self.client = boto3.session.Session().client(
            "s3",
            config=Config(
                retries={"mode": "standard", "max_attempts": RETRY_ATTEMPTS},
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
            ),
        )
        self.client.meta.events.register_first("needs-retry.s3", _no_retry_without_connection)
        self.transfer = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD)
        self._check_bucket()

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """An endpoint that cannot be connected to, as a LakeError that says what to check."""
        from botocore.exceptions import ConnectionError as NoConnection

        try:
            yield
        except NoConnection:
            endpoint = self.client.meta.endpoint_url
            raise LakeError(
                f"cannot connect to the S3 endpoint {endpoint} ({self.url}): check "
                "AWS_ENDPOINT_URL and that the server is up and reachable from here"
            ) from None

    def _check_bucket(self) -> None:
        from botocore.exceptions import ClientError, NoCredentialsError

        try:
            with self._reachable():
                self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError:
            raise LakeError(
                f"no AWS credentials for {self.url}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role"
            ) from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket"):
                raise LakeError(f"bucket {self.bucket!r} does not exist ({self.url})") from None
            if code in ("403", "AccessDenied"):
                raise LakeError(f"access to bucket {self.bucket!r} is denied") from None
            raise LakeError(f"cannot reach {self.url}: {exc}") from None

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, local: Path, key: str) -> None:
        with self._reachable():
            self.client.upload_file(str(local), self.bucket, self._key(key), Config=self.transfer)

    def put_bytes(self, data: bytes, key: str) -> None:
        with self._reachable():
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get_bytes(self, key: str) -> bytes:
        with self._reachable():
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except self.client.exceptions.NoSuchKey:
                raise FileNotFoundError(f"{self.url}/{key}") from None
            return response["Body"].read()

    def list_objects(self, prefix: str) -> list[LakeObject]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        with self._reachable():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) + 1 :] if self.prefix else item["Key"]
                    found.append(LakeObject(key, item["LastModified"]))
        return sorted(found, key=lambda item: item.key)

    def delete_keys(self, keys: list[str]) -> None:
        with self._reachable():
            for start in range(0, len(keys), 1000):
                chunk = [{"Key": self._key(k)} for k in keys[start : start + 1000]]
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk})


def _no_retry_without_connection(caught_exception: Exception | None = None, **_: Any) -> None:
    """botocore's retry hook: a connection that could not even be set up ends the call."""
    from botocore.exceptions import ConnectionError as NoConnection

    if isinstance(caught_exception, NoConnection):
        raise caught_exception


def open_lake(url: str) -> Lake:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalLake(Path((parsed.netloc + parsed.path) or ".").resolve())
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Lake(parsed.netloc, parsed.path)
    raise LakeError(f"LAKE_URL={url!r}: use file://PATH or s3://BUCKET/PREFIX")
