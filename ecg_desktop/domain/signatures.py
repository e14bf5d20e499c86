"""Callback and dispatch signatures (PROTOCOL.md section 4).

Two schemes: the seed's ``X-Signature-256: sha256=<hex>`` over the raw body, and Standard
Webhooks (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>`` over
``"{id}.{timestamp}.{body}"``, several space-separated signatures for key rotation).
Pure functions: the caller supplies the clock and remembers the ids it has seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from enum import StrEnum

COMPAT_HEADER = "X-Signature-256"
WEBHOOK_ID = "webhook-id"
WEBHOOK_TIMESTAMP = "webhook-timestamp"
WEBHOOK_SIGNATURE = "webhook-signature"
TOLERANCE_S = 300


class Verdict(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    STALE = "stale"
    MALFORMED = "malformed"


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def _key(secret: str) -> bytes:
    # Standard Webhooks secrets are "whsec_<base64>"; plain strings are used as UTF-8 bytes.
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            pass
    return secret.encode()


def compat_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(_key(secret), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    secret: str, body: bytes, *, msg_id: str, timestamp: int, compat_only: bool = False
) -> dict[str, str]:
    """Headers signing ``body`` with both schemes (or only the compatible one)."""
    headers = {COMPAT_HEADER: compat_signature(secret, body)}
    if not compat_only:
        headers[WEBHOOK_ID] = msg_id
        headers[WEBHOOK_TIMESTAMP] = str(timestamp)
        headers[WEBHOOK_SIGNATURE] = webhook_signature(secret, msg_id, timestamp, body)
    return headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value


def verify_compat(secrets_: Iterable[str], body: bytes, header: str) -> bool:
    check = SignatureCheck(secrets_, {COMPAT_HEADER: header}, now=0)
    check.update(body)
    return check.verdict() is Verdict.VALID


def verify_webhook(
    secrets_: Iterable[str],
    body: bytes,
    msg_id: str,
    timestamp: str,
    signature_header: str,
    *,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> Verdict:
    headers = {WEBHOOK_ID: msg_id, WEBHOOK_TIMESTAMP: timestamp,
               WEBHOOK_SIGNATURE: signature_header}
    check = SignatureCheck(secrets_, headers, now=now, tolerance_s=tolerance_s)
    check.update(body)
    return check.verdict()


class SignatureCheck:
    """One request's signature, checked as its body arrives: ``update(chunk)`` for each
    piece, then ``verdict()``. ``early`` is the verdict the headers alone give (missing,
    malformed, stale), or ``None`` when the body decides; a receiver can refuse before reading
    the body. Standard Webhooks wins when both schemes are present. Headers are compared as
    ASCII: any other character (invalid UTF-8 included) makes them malformed."""

    def __init__(
        self,
        secrets_: Iterable[str],
        headers: Mapping[str, str],
        *,
        now: float,
        tolerance_s: int = TOLERANCE_S,
    ) -> None:
        keys = [_key(s) for s in secrets_ if s]
        self.msg_id = _header(headers, WEBHOOK_ID) or None
        webhook_sig = _header(headers, WEBHOOK_SIGNATURE)
        compat = _header(headers, COMPAT_HEADER)
        self._hashes: list[hmac.HMAC] = []
        self._offered: list[bytes] = []
        self._hex = False
        self.early: Verdict | None = None
        if self.msg_id and webhook_sig:
            self.early = self._start_webhook(keys, webhook_sig, headers, now, tolerance_s)
        elif compat:
            self.msg_id = None
            self.early = self._start_compat(keys, compat)
        else:
            self.msg_id = None
            self.early = Verdict.MISSING

    def _start_webhook(
        self, keys: list[bytes], signature_header: str, headers: Mapping[str, str],
        now: float, tolerance_s: int,
    ) -> Verdict | None:
        timestamp = _header(headers, WEBHOOK_TIMESTAMP) or ""
        assert self.msg_id is not None
        if not (self.msg_id.isascii() and signature_header.isascii() and timestamp.isascii()):
            return Verdict.MALFORMED
        try:
            ts = int(timestamp)
        except ValueError:
            return Verdict.MALFORMED
        if abs(now - ts) > tolerance_s:
            return Verdict.STALE
        self._offered = [s[3:].encode() for s in signature_header.split() if s.startswith("v1,")]
        if not self._offered:
            return Verdict.MALFORMED
        prefix = f"{self.msg_id}.{ts}.".encode()
        self._hashes = [hmac.new(key, prefix, hashlib.sha256) for key in keys]
        return None

    def _start_compat(self, keys: list[bytes], header: str) -> Verdict | None:
        if not header.isascii():
            return Verdict.MALFORMED
        self._offered = [header.strip().encode()]
        self._hex = True
        self._hashes = [hmac.new(key, digestmod=hashlib.sha256) for key in keys]
        return None

    def update(self, chunk: bytes) -> None:
        for digest in self._hashes:
            digest.update(chunk)

    def verdict(self) -> Verdict:
        if self.early is not None:
            return self.early
        for digest in self._hashes:
            expected = (b"sha256=" + digest.hexdigest().encode() if self._hex
                        else base64.b64encode(digest.digest()))
            # Every offered signature is compared, so timing says nothing about which matched.
            if sum(hmac.compare_digest(expected, offered) for offered in self._offered):
                return Verdict.VALID
        return Verdict.INVALID


def verify(
    secrets_: Iterable[str], body: bytes, headers: Mapping[str, str], *, now: float
) -> tuple[Verdict, str | None]:
    """Check whichever scheme the request carries; Standard Webhooks wins when both are there.

    Returns the verdict and the ``webhook-id`` (for duplicate detection) when there is one.
    """
    check = SignatureCheck(secrets_, headers, now=now)
    check.update(body)
    return check.verdict(), check.msg_id
