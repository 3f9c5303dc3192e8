"""Where closed log segments are shipped: an S3 prefix (a PUT signed with SigV4), or a folder.

The S3 client is the standard library's: botocore would add 16 MB of gzip to the
serving image, which has 6 MB to spare (the container test's limit). It does one
thing, PUT an object, and a PUT that S3 answers with 200 is stored whole: the
body's MD5 goes with it (`Content-MD5`) and S3 refuses a body that does not match.
Credentials come from the environment only (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, and `AWS_SESSION_TOKEN` if any), the region from
`AWS_REGION` or `AWS_DEFAULT_REGION`, and another S3 API (MinIO, moto) from
`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..errors import PipelineError

TIMEOUT_SECONDS = 30


class UploadError(Exception):
    """An upload that was not confirmed: the segment stays where it is, to be tried again."""


class ObjectStore(Protocol):
    """A place that keeps segments under keys (`<stream>/hour=<hour>/<name>.jsonl.gz`)."""

    url: str

    def put(self, key: str, body: bytes) -> None:
        """Store `body` under `key`; return only once it is stored, else raise UploadError or OSError."""


@dataclass(frozen=True)
class FolderStore:
    """A folder (a mounted volume, or the DVC remote when it is a folder): written atomically, then fsynced."""

    url: str

    def put(self, key: str, body: bytes) -> None:
        """Write `body` to a temporary file next to `key`'s, fsync it, then rename it into place."""
        target = Path(self.url) / key
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        with temporary.open("wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)


@dataclass(frozen=True)
class S3Store:
    """An S3 prefix, `s3://bucket/prefix`, written with one signed PUT per segment."""

    url: str
    endpoint: str | None = None  # None: the environment's, or AWS's own

    def put(self, key: str, body: bytes) -> None:
        """PUT `body` at `<prefix>/<key>`; raise UploadError unless S3 answers 200."""
        bucket, _, prefix = self.url.removeprefix("s3://").partition("/")
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        endpoint = self.endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        object_key = f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key
        if endpoint:  # another S3 API: path-style addressing, which they all take
            parsed = urllib.parse.urlsplit(endpoint)
            secure, host, path = parsed.scheme == "https", parsed.netloc, f"/{bucket}/{object_key}"
        else:
            secure, host, path = True, f"{bucket}.s3.{region}.amazonaws.com", f"/{object_key}"
        path = urllib.parse.quote(path, safe="/-_.~")
        headers = {
            "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),
            "content-type": "application/gzip",
            "host": host,
            "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
            "x-amz-date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        }
        access, secret, token = _credentials()
        if token:
            headers["x-amz-security-token"] = token
        headers["authorization"] = sign("PUT", path, headers, access, secret, region)
        connection_type = http.client.HTTPSConnection if secure else http.client.HTTPConnection
        connection = connection_type(host, timeout=TIMEOUT_SECONDS)
        try:
            connection.request("PUT", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read(500)
        finally:
            connection.close()
        if response.status != 200:
            raise UploadError(
                f"PUT s3://{bucket}/{object_key}: HTTP {response.status}: {answer.decode(errors='replace')}"
            )


def sign(method: str, path: str, headers: dict[str, str], access: str, secret: str, region: str) -> str:
    """The `Authorization` header of an S3 request (Signature Version 4) that signs every header in `headers`.

    `path` is URI-encoded already, the query string empty, and `headers` holds
    `x-amz-date` and `x-amz-content-sha256` (the body's SHA-256).
    """
    names = sorted(name.lower() for name in headers)
    lower = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed = ";".join(names)
    canonical = "\n".join(
        [method, path, "", "".join(f"{name}:{lower[name]}\n" for name in names), signed, lower["x-amz-content-sha256"]]
    )
    stamp = lower["x-amz-date"]
    scope = f"{stamp[:8]}/{region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{secret}".encode()
    for part in (stamp[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access}/{scope}, SignedHeaders={signed}, Signature={signature}"


def _credentials() -> tuple[str, str, str | None]:
    access, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        raise UploadError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (docs/serving.md)")
    return access, secret, os.environ.get("AWS_SESSION_TOKEN") or None


def open_store(destination: str) -> ObjectStore:
    """The store `destination` names: `s3://bucket/prefix`, or a folder; refuses any other URL."""
    if destination.startswith("s3://"):
        if not destination.removeprefix("s3://").split("/")[0]:
            raise PipelineError(f"--log-upload {destination}: name a bucket, as in s3://bucket/prefix")
        return S3Store(destination.rstrip("/"))
    if "://" in destination:
        raise PipelineError(f"--log-upload {destination}: give s3://bucket/prefix or a folder")
    return FolderStore(destination)
