"""Word pitch against Praat's autocorrelation tracker, per voice and recording condition.

    .venv/bin/python bench/pitch_agreement.py

Eight espeak-ng voices (five male, three female) read six sentences; Praat (through
praat-parselmouth, `to_pitch_ac`) measures the clean signal, the analyzer measures it clean,
in a telephone band (300-3400 Hz: no fundamental), with white noise 15 dB under the speech,
and in a reverberant room (0.5 s). Prints, per condition, the share of voiced words within
10 % of Praat and the octave errors (tests/analyzer/pitch_reference.py says how words are cut
and counted). The condition "clean" is the baseline the others are read against.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analyzer.pitch_reference import (
    FEMALE_VOICES,
    MALE_VOICES,
    agreement,
    clean,
    noisy,
    reverberant,
    telephone_band,
)


def main() -> int:
    print(f"{'condition':<16}{'words':>6}{'within 10 %':>13}{'octave errors':>15}{'s':>7}")
    for condition in (clean, telephone_band, noisy, reverberant):
        started = time.perf_counter()
        result = agreement(MALE_VOICES + FEMALE_VOICES, condition)
        print(
            f"{condition.__name__:<16}{result.words:>6}{result.share:>12.1%}"
            f"{result.octave_errors:>15}{time.perf_counter() - started:>7.1f}"
        )
        for miss in result.misses:
            if "None" not in miss:
                print(f"    {miss}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
