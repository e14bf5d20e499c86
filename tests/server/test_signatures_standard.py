"""Our Standard Webhooks code agrees with the ``standardwebhooks`` package's own signer and
verifier, both ways, for whsec_ secrets, rotated keys, chunked bodies and tampering."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from ecg_desktop.domain.signatures import (
    WEBHOOK_ID,
    WEBHOOK_SIGNATURE,
    WEBHOOK_TIMESTAMP,
    SignatureCheck,
    Verdict,
    sign_headers,
    verify,
)

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


@settings(max_examples=60, deadline=None)
@given(body=st.binary(max_size=2000),
       msg_id=st.from_regex(r"msg_[A-Za-z0-9]{1,30}", fullmatch=True))
def test_their_signature_passes_our_check_and_ours_passes_theirs(body: bytes, msg_id: str) -> None:
    now = int(time.time())
    theirs = Webhook(SECRET).sign(msg_id, datetime.fromtimestamp(now, UTC), body)
    headers = {WEBHOOK_ID: msg_id, WEBHOOK_TIMESTAMP: str(now), WEBHOOK_SIGNATURE: theirs}
    assert verify([SECRET], body, headers, now=now) == (Verdict.VALID, msg_id)

    ours = sign_headers(SECRET, body, msg_id=msg_id, timestamp=now)
    ours.pop("X-Signature-256")
    Webhook(SECRET).verify(body, ours, json_parse=False)  # raises when it disagrees


def test_a_body_fed_in_chunks_gives_the_same_verdict_as_whole() -> None:
    body = b'{"job_id": "x", "status": "processing"}' * 1000
    now = int(time.time())
    headers = sign_headers(SECRET, body, msg_id="msg_1", timestamp=now)
    headers.pop("X-Signature-256")
    check = SignatureCheck(["rotated-away", SECRET], headers, now=now)
    assert check.early is None
    for start in range(0, len(body), 4096):
        check.update(body[start:start + 4096])
    assert check.verdict() is Verdict.VALID


def test_both_refuse_a_tampered_body() -> None:
    now = int(time.time())
    headers = sign_headers(SECRET, b'{"progress": 10}', msg_id="msg_2", timestamp=now)
    headers.pop("X-Signature-256")
    tampered = b'{"progress": 99}'
    assert verify([SECRET], tampered, headers, now=now)[0] is Verdict.INVALID
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(tampered, headers, json_parse=False)


@pytest.mark.parametrize("header, value", [
    (WEBHOOK_ID, "msg_\udcff\udcfe"), (WEBHOOK_SIGNATURE, "v1,é"),
    (WEBHOOK_TIMESTAMP, "１７００"),
])
def test_headers_that_are_not_ascii_are_malformed_before_the_body(header: str, value: str) -> None:
    now = int(time.time())
    headers = sign_headers(SECRET, b"{}", msg_id="msg_3", timestamp=now)
    headers.pop("X-Signature-256")
    headers[header] = value
    assert SignatureCheck([SECRET], headers, now=now).early is Verdict.MALFORMED
