"""Sending one batch of line protocol to InfluxDB: the v2 API through influxdb-client, or 1.x ``/write``.

A sender does one attempt and says whether a failure is worth retrying; the writer owns batching,
retries and the counts. Error messages carry the status and the server's words, never the token.
"""

from __future__ import annotations

import base64
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import urllib3

from ..core.errors import AgentloadError

log = logging.getLogger("agentload")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_PARTIAL = re.compile(r"dropped=(\d+)")


class WriteError(Exception):
    """A batch was not (fully) written.

    ``retryable``: the same batch may succeed later (server down, overloaded, 5xx, 429).
    ``rejected``: how many points the server refused for good (a partial write names them); None
    means the whole batch.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        rejected: int | None = None,
        retry_after_s: float | None = None,
    ):
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.rejected = rejected
        self.retry_after_s = retry_after_s


class Sender(Protocol):
    target: str  # where the points go, for messages (no credentials)

    def send(self, body: bytes, points: int) -> None: ...

    def check(self) -> bool: ...

    def close(self) -> None: ...


def safe_url(url: str) -> str:
    """The URL without user:password@ or a query string, for logs and reports."""
    u = urlsplit(url)
    netloc = u.hostname or ""
    if u.port:
        netloc += f":{u.port}"
    return urlunsplit((u.scheme, netloc, u.path, "", ""))


def _scrub(text: str, secret: str | None) -> str:
    text = text.strip().replace("\n", " ")[:300]
    return text.replace(secret, "***") if secret else text


def _retry_after(headers: object) -> float | None:
    try:
        value = headers.get("Retry-After") if headers is not None else None  # type: ignore[attr-defined]
        return float(value) if value else None
    except (TypeError, ValueError):
        return None


def _unreachable(target: str, e: BaseException) -> WriteError:
    return WriteError(f"InfluxDB at {target} unreachable: {type(e).__name__}", retryable=True)


def _error_for_status(
    status: int, body: str, headers: object, points: int, target: str, secret: str | None
) -> WriteError:
    text = _scrub(body, secret)
    retryable = status in RETRYABLE_STATUS
    rejected = None
    m = _PARTIAL.search(body)
    if status == 400 and "partial write" in body and m:
        rejected = min(points, int(m.group(1)))
    hint = ""
    if status in (401, 403):
        hint = " (set INFLUX_TOKEN on every process that writes, the workers included)"
    elif status == 404:
        hint = " (create the database or bucket first, or fix --influx-db / --influx-bucket / --influx-org)"
    return WriteError(
        f"InfluxDB at {target} answered {status}: {text}{hint}",
        retryable=retryable,
        status=status,
        rejected=rejected,
        retry_after_s=_retry_after(headers),
    )


class AccessError(Exception):
    """The database refuses this run's writes for good (wrong token, no such database): a start-up
    error, not something retrying fixes."""


def probe_write(url: str, headers: dict[str, str], target: str, secret: str | None) -> bool:
    """POST an empty batch: 401/403/404 raise AccessError; True when the server answered, False when
    it could not be reached (the run goes on: points are kept, retried and counted, as ever)."""
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5.0, read=10.0))
    try:
        resp = http.request("POST", url, body=b"", headers=headers)
    except urllib3.exceptions.HTTPError:
        return False
    finally:
        http.clear()
    if resp.status in (401, 403, 404):
        err = _error_for_status(
            resp.status, resp.data.decode("utf-8", "replace"), resp.headers, 0, target, secret
        )
        raise AccessError(str(err))
    return True


class V1Sender:
    """InfluxDB 1.x: POST /write?db=...&precision=ns (also what VictoriaMetrics and 2.x's v1 API accept)."""

    def __init__(self, url: str, db: str, token: str | None, timeout_s: float, rp: str = "") -> None:
        self.target = safe_url(url)
        self._secret = token
        params = {"db": db, "precision": "ns"}
        if rp:
            params["rp"] = rp
        self._url = url.rstrip("/") + "/write?" + urlencode(params)
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if token:  # "user:password" is basic auth for 1.x; anything else is a 2.x-style token
            if ":" in token:
                self._headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
            else:
                self._headers["Authorization"] = f"Token {token}"
        self._http = urllib3.PoolManager(
            num_pools=1, maxsize=1, retries=False, timeout=urllib3.Timeout(connect=5.0, read=timeout_s)
        )

    def check(self) -> bool:
        return probe_write(self._url, self._headers, self.target, self._secret)

    def send(self, body: bytes, points: int) -> None:
        try:
            resp = self._http.request("POST", self._url, body=body, headers=self._headers)
        except urllib3.exceptions.HTTPError as e:
            raise _unreachable(self.target, e) from None
        if resp.status >= 300:
            raise _error_for_status(
                resp.status,
                resp.data.decode("utf-8", "replace"),
                resp.headers,
                points,
                self.target,
                self._secret,
            )

    def close(self) -> None:
        self._http.clear()


class V2Sender:
    """InfluxDB 2.x / Cloud (and anything serving /api/v2/write), through influxdb-client's write API."""

    def __init__(self, url: str, org: str, bucket: str, token: str | None, timeout_s: float) -> None:
        # influxdb-client (and its dependencies) load only where the v2 API is used
        from influxdb_client import InfluxDBClient, WritePrecision
        from influxdb_client.client.write_api import SYNCHRONOUS

        self.target = safe_url(url)
        self._secret = token
        self._org, self._bucket = org, bucket
        params = urlencode({"org": org, "bucket": bucket, "precision": "ns"})
        self._check_url = url.rstrip("/") + "/api/v2/write?" + params
        self._check_headers = {"Content-Type": "text/plain; charset=utf-8"}
        if token:
            self._check_headers["Authorization"] = f"Token {token}"
        # retries=False: the writer owns retrying, so every retry is counted
        self._client = InfluxDBClient(
            url=url, token=token or "", org=org, timeout=int(timeout_s * 1000), retries=False
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)
        self._precision: Any = WritePrecision.NS  # a str constant; the client types it as its enum

    def check(self) -> bool:
        return probe_write(self._check_url, self._check_headers, self.target, self._secret)

    def send(self, body: bytes, points: int) -> None:
        from influxdb_client.rest import ApiException  # loaded with the client above

        try:
            self._api.write(bucket=self._bucket, org=self._org, record=body, write_precision=self._precision)
        except ApiException as e:
            body_text = e.body.decode("utf-8", "replace") if isinstance(e.body, bytes) else str(e.body or "")
            raise _error_for_status(
                e.status or 0, body_text, e.headers, points, self.target, self._secret
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise _unreachable(self.target, e) from None

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class InfluxTarget:
    """Where points go. ``db`` set means the 1.x API; otherwise org and bucket on the v2 API."""

    url: str
    org: str = ""
    bucket: str = ""
    db: str = ""
    rp: str = ""
    token: str | None = None
    timeout_s: float = 10.0

    def sender(self) -> Sender:
        if self.db:
            return V1Sender(self.url, self.db, self.token, self.timeout_s, self.rp)
        return V2Sender(self.url, self.org, self.bucket, self.token, self.timeout_s)

    def check(self) -> None:
        """The start-up check (agentload.preflight): a refused token or a missing database stops the
        run with one line; a database that is down only warns (points wait in the buffer)."""
        sender = self.sender()
        try:
            reachable = sender.check()
        except AccessError as e:
            raise AgentloadError(f"--influx-url: {e}") from None
        finally:
            sender.close()
        if not reachable:
            log.warning("agentload: InfluxDB at %s does not answer yet; points wait in the buffer", self)

    def __repr__(self) -> str:  # the token stays out of every log line and traceback
        where = f"db={self.db}" if self.db else f"org={self.org} bucket={self.bucket}"
        return f"InfluxTarget({safe_url(self.url)} {where})"
