"""Diarization error per pair of voices, unprompted and with the speaker count given.

    .venv/bin/python bench/diarization.py

Six turns of two espeak-ng voices (tests/analyzer/speaker_pairs.py: a man and a woman, two
men, two women, and en-us against its nearly identical m3 variant) muxed into an mp4, decoded
and diarized as the analyzer does. Prints the speakers found, the diarization error rate
(pyannote.metrics, no collar) and the largest turn-boundary error. The man-and-woman pair is
the baseline the same-sex pairs are read against.
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analyzer.speaker_pairs import PAIRS, conversation, diarize_file

PAIRS_MEASURED = {**PAIRS, "en-us and en-us+m3": ("en-us", "en-us+m3")}


def main() -> int:
    warnings.filterwarnings("ignore", module="pyannote")
    print(f"{'pair':<22}{'voices':<22}{'count':<8}{'speakers':>9}{'DER':>7}{'boundary s':>12}")
    with tempfile.TemporaryDirectory() as folder:
        for name, voices in PAIRS_MEASURED.items():
            truth = conversation(Path(folder), voices)
            for given in (None, 2):
                scored = diarize_file(truth, speakers=given)
                print(
                    f"{name:<22}{'/'.join(voices):<22}{given or 'auto'!s:<8}"
                    f"{scored.speakers:>9}{scored.der:>7.3f}{scored.boundary_error:>12.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
