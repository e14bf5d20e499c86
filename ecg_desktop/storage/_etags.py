"""ETags as S3 computes them, to tell whether an object or part is the one we sent."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ._transfer import CHUNK_SIZE


def md5_of_region(path: Path, offset: int, length: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        handle.seek(offset)
        remaining = length
        while remaining and (chunk := handle.read(min(CHUNK_SIZE, remaining))):
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


def multipart_etag(part_etags: list[str]) -> str:
    """S3's ETag of an object completed from parts with these ETags ("" if not MD5s)."""
    try:
        digests = b"".join(bytes.fromhex(etag.strip('"')) for etag in part_etags)
    except ValueError:
        return ""
    if len(digests) != 16 * len(part_etags):
        return ""
    return f"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(part_etags)}"


def same_etag(listed: str | None, recorded: str) -> bool:
    return listed is not None and listed.strip('"') == recorded.strip('"')
