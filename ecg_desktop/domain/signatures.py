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
    return any(
        hmac.compare_digest(compat_signature(secret, body), header.strip()) for secret in secrets_
    )


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
    try:
        ts = int(timestamp)
    except ValueError:
        return Verdict.MALFORMED
    if abs(now - ts) > tolerance_s:
        return Verdict.STALE
    offered = [s.partition(",")[2] for s in signature_header.split() if s.startswith("v1,")]
    if not offered:
        return Verdict.MALFORMED
    for secret in secrets_:
        expected = webhook_signature(secret, msg_id, ts, body).partition(",")[2]
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return Verdict.VALID
    return Verdict.INVALID


def verify(
    secrets_: Iterable[str], body: bytes, headers: Mapping[str, str], *, now: float
) -> tuple[Verdict, str | None]:
    """Check whichever scheme the request carries; Standard Webhooks wins when both are there.

    Returns the verdict and the ``webhook-id`` (for duplicate detection) when there is one.
    """
    keys = [s for s in secrets_ if s]
    msg_id = _header(headers, WEBHOOK_ID)
    webhook_sig = _header(headers, WEBHOOK_SIGNATURE)
    if msg_id and webhook_sig:
        timestamp = _header(headers, WEBHOOK_TIMESTAMP) or ""
        return verify_webhook(keys, body, msg_id, timestamp, webhook_sig, now=now), msg_id
    compat = _header(headers, COMPAT_HEADER)
    if compat:
        return (Verdict.VALID if verify_compat(keys, body, compat) else Verdict.INVALID), None
    return Verdict.MISSING, None
