"""API tokens: ``name:secret``, or a bare secret. A bearer token never contains ``:``
(RFC 6750), so the secret is what follows the last one; the name says whose token it is, and
the jobs made with it are recorded under that name. Clients send only the secret."""

from __future__ import annotations

from ecg_desktop.domain.signatures import generate_secret

_NOT_IN_NAMES = str.maketrans("", "", ":,\n\r\t")  # ':' ends a name, ',' separates tokens
VISIBLE_CHARS = 4


def split_token(token: str) -> tuple[str, str]:
    """``(holder name or "", secret)`` of a configured token."""
    name, _, secret = token.rpartition(":")
    return name.strip(), secret


def make_token(holder: str) -> str:
    """A new token for ``holder`` (may be empty), with a freshly generated secret."""
    name = holder.translate(_NOT_IN_NAMES).strip()
    secret = generate_secret()
    return f"{name}:{secret}" if name else secret


def token_tail(token: str) -> str:
    """The last characters of the secret: enough to tell tokens apart, not to use one."""
    return split_token(token)[1][-VISIBLE_CHARS:]
