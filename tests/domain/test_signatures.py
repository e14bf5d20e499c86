"""Both callback signature schemes (PROTOCOL.md section 4)."""

from __future__ import annotations

import pytest

from ecg_desktop.domain.signatures import (
    COMPAT_HEADER,
    Verdict,
    compat_signature,
    generate_secret,
    sign_headers,
    verify,
    webhook_signature,
)

BODY = b'{"job_id": "1", "status": "completed"}'
NOW = 1_700_000_000


def test_the_standard_webhooks_reference_vector() -> None:
    # The example of the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    signature = webhook_signature(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_seeds_scheme_is_hex_hmac_of_the_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    assert compat_signature("k", BODY) == f"sha256={expected}"


def test_both_schemes_verify() -> None:
    headers = sign_headers("secret", BODY, msg_id="msg_1", timestamp=NOW)
    assert verify(["secret"], BODY, headers, now=NOW) == (Verdict.VALID, "msg_1")
    compat = sign_headers("secret", BODY, msg_id="msg_1", timestamp=NOW, compat_only=True)
    assert set(compat) == {COMPAT_HEADER}
    assert verify(["secret"], BODY, compat, now=NOW) == (Verdict.VALID, None)


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in sign_headers("s", BODY, msg_id="m", timestamp=NOW).items()}
    assert verify(["s"], BODY, headers, now=NOW) == (Verdict.VALID, "m")


@pytest.mark.parametrize("compat_only", [True, False])
def test_a_tampered_body_or_wrong_secret_is_invalid(compat_only: bool) -> None:
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW, compat_only=compat_only)
    tampered = BODY.replace(b"completed", b"failed")
    assert verify(["secret"], tampered, headers, now=NOW)[0] is Verdict.INVALID
    assert verify(["other"], BODY, headers, now=NOW)[0] is Verdict.INVALID


def test_the_replay_safe_scheme_wins_over_the_compatible_one() -> None:
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW)
    headers[COMPAT_HEADER] = "sha256=" + "0" * 64
    assert verify(["secret"], BODY, headers, now=NOW) == (Verdict.VALID, "m")
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW)
    headers["webhook-signature"] = "v1,AAAA"
    assert verify(["secret"], BODY, headers, now=NOW)[0] is Verdict.INVALID


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_a_stale_or_future_timestamp_is_refused(skew: int) -> None:
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW + skew)
    assert verify(["secret"], BODY, headers, now=NOW) == (Verdict.STALE, "m")


@pytest.mark.parametrize("skew", [-300, 0, 300])
def test_a_timestamp_within_five_minutes_is_accepted(skew: int) -> None:
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW + skew)
    assert verify(["secret"], BODY, headers, now=NOW)[0] is Verdict.VALID


def test_malformed_headers() -> None:
    headers = sign_headers("secret", BODY, msg_id="m", timestamp=NOW)
    assert verify(["secret"], BODY, {**headers, "webhook-timestamp": "soon"}, now=NOW)[0] is (
        Verdict.MALFORMED)
    assert verify(["secret"], BODY, {**headers, "webhook-signature": "v2,abc"}, now=NOW)[0] is (
        Verdict.MALFORMED)


def test_no_signature_is_missing() -> None:
    assert verify(["secret"], BODY, {"Content-Type": "application/json"}, now=NOW) == (
        Verdict.MISSING, None)


def test_key_rotation_either_side() -> None:
    old, new = generate_secret(), generate_secret()
    # The sender signs with both keys; a receiver that already has only the new one accepts.
    both = " ".join(
        webhook_signature(secret, "m", NOW, BODY) for secret in (old, new)
    )
    headers = {"webhook-id": "m", "webhook-timestamp": str(NOW), "webhook-signature": both}
    assert verify([new], BODY, headers, now=NOW)[0] is Verdict.VALID
    # A receiver that accepts old and new keys takes a callback still signed with the old one.
    signed_old = sign_headers(old, BODY, msg_id="m2", timestamp=NOW)
    assert verify([new, old], BODY, signed_old, now=NOW) == (Verdict.VALID, "m2")
    assert verify([new], BODY, signed_old, now=NOW)[0] is Verdict.INVALID
    # Empty secrets never verify anything.
    assert verify(["", new], BODY, sign_headers("", BODY, msg_id="m", timestamp=NOW),
                  now=NOW)[0] is Verdict.INVALID


def test_generated_secrets_are_long_and_distinct() -> None:
    secrets = {generate_secret() for _ in range(20)}
    assert len(secrets) == 20 and all(len(s) >= 40 for s in secrets)
