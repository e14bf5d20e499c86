"""One JSON parse that also gives the exact text of the top-level ``"result"``.

Hand-written on top of the standard library's C scanner, because no JSON library returns the
source span of a value: the raw result is stored exactly as the ML server sent it.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")


def loads_keeping_result_text(body: bytes) -> tuple[Any, str | None]:
    """``json.loads(body)``, and the text of the top-level ``"result"`` object exactly as it
    appears in the body (``None`` when there is none), so that it can be stored as received.

    The top-level object is walked key by key with the C scanner (one parse in all); any
    shape it does not expect is left to ``json.loads``, which also gives the usual errors.
    """
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        payload, spans = _object_with_spans(text)
    except (ValueError, IndexError, RecursionError):
        return json.loads(body), None
    span = spans.get("result")
    if span is None or not isinstance(payload.get("result"), dict):
        return payload, None
    return payload, text[span[0]:span[1]]


def _object_with_spans(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos] != "{":
        raise ValueError("not an object")
    obj: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos] == "}":
        pos += 1
    else:
        while True:
            if text[pos] != '"':
                raise ValueError("expected a key")
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] != ":":
                raise ValueError("expected ':'")
            start = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            obj[key], end = decoder.raw_decode(text, start)
            spans[key] = (start, end)
            pos = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            if text[pos] == "}":
                pos += 1
                break
            if text[pos] != ",":
                raise ValueError("expected ',' or '}'")
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if _SPACE.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("extra data")
    return obj, spans
