"""Real-time factor of the reference analyzer, per stage and per recogniser, on a generated
recording.

    .venv/bin/python bench/analyzer_rtf.py [--minutes 5] [--rounds 1]
        [--backends pocketsphinx,faster-whisper] [--threads 0]

Builds a two-speaker recording with espeak-ng (a male and a female voice taking turns, one
turn in three louder), muxes it into an mp4 with PyAV (tests/media.py), and runs the analyzer's
whole pipeline on it in this process (no HTTP; the server only adds the download), once per
backend: pocketsphinx (the baseline) and faster-whisper with the bundled tiny.en. Every figure
is divided by the audio duration measured in the same run: 1.0x is real time. Also prints each
stage's share of the processing time, the word error rate against the script, and Whisper's
CPU time against pocketsphinx's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ecg_desktop.analyzer.asr import BackendPaths, WhisperRuntime
from ecg_desktop.analyzer.pipeline import AnalysisOptions, analyse_file
from tests.analyzer.wer import normalized, word_error_rate
from tests.media import SAMPLE_RATE, SpeechTruth, make_speech_video, synthesize

SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "We should all go and see a musical in the city this weekend.",
    "I would rather stay home and read a good book by the fire.",
    "That sounds boring to me, but I understand why you like it.",
    "Maybe next week we can do something together in the park.",
    "The report is due on Friday, so please send me your numbers soon.",
    "I already checked them twice, and everything looks correct to me.",
    "Good, then we can send it to the director this afternoon.",
    "Do you remember where we parked the car this morning?",
    "It was on the third floor, next to the elevator, I think.",
]
VOICES = ("en-us", "en-us+f3")
GAP_S = 0.6


def build_recording(folder: Path, minutes: float) -> SpeechTruth:
    turns = []
    estimated = 0.0
    index = 0
    while estimated < minutes * 60:
        voice = VOICES[index % 2]
        # Two sentences a turn, each sentence once in five turns: a sentence spoken again in
        # the next turn, as this used to do, is not how people talk, and Whisper takes such
        # repeated text for a repetition loop (falling back to slower, worse decodings).
        text = " ".join(SENTENCES[(2 * index + k) % len(SENTENCES)] for k in range(2))
        gain = 0.0 if index % 3 == 2 else -8.0
        turns.append((voice, text, gain))
        loud = np.flatnonzero(np.abs(synthesize(voice, text)) > 0.01)  # tests.media trims so
        estimated += (loud[-1] - loud[0]) / SAMPLE_RATE + GAP_S
        index += 1
    return make_speech_video(folder / "talk.mp4", turns, gap_s=GAP_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--backends", default="pocketsphinx,faster-whisper")
    parser.add_argument("--threads", type=int, default=0, help="Whisper's CPU threads (0: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        truth = build_recording(Path(folder), args.minutes)
        path, duration = truth.path, truth.duration
        size_mb = path.stat().st_size / 1e6
        print(f"recording: {duration:.1f} s of audio, {size_mb:.1f} MB mp4")
        print(f"(generated in {time.perf_counter() - started:.1f} s)")
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"machine: {os.cpu_count()} cores, load average {load}")
        reference = normalized(" ".join(turn.text for turn in truth.turns))
        cpu: dict[str, float] = {}
        for backend in args.backends.split(","):
            options = AnalysisOptions(
                language="en",
                filename="talk.mp4",
                paths=BackendPaths(backend=backend),
                runtime=WhisperRuntime(cpu_threads=args.threads),
            )
            for round_index in range(args.rounds):
                started = time.perf_counter()
                result = analyse_file(path, options, lambda p, m: None)
                total = time.perf_counter() - started
                cpu[backend] = report(round_index, result, total, duration, reference)
        if {"pocketsphinx", "faster-whisper"} <= cpu.keys():
            ratio = cpu["faster-whisper"] / cpu["pocketsphinx"]
            print(f"\nfaster-whisper / pocketsphinx, whole pipeline CPU: {ratio:.2f}x")
    return 0


def report(
    round_index: int,
    result: dict[str, Any],
    total: float,
    duration: float,
    reference: list[str],
) -> float:
    """Prints one round's table; returns the whole pipeline's CPU seconds."""
    meta, segments = result["metadata"], result["segments"]
    wall, cpu = meta["stage_times"], meta["stage_cpu_times"]
    words = [w["word"] for s in segments for w in s["words"]]
    wer = word_error_rate(reference, normalized(" ".join(words)))
    print(
        f"\n{meta['model_version']}, round {round_index + 1}: {meta['total_segments']} "
        f"segments, {meta['unique_speakers']} speakers, {len(words)} words, "
        f"word error rate {wer:.3f}"
    )
    print(f"{'stage':<13}{'wall s':>8}{'x real':>9}{'CPU s':>8}{'x real':>9}{'CPU share':>11}")
    cpu_total = sum(cpu.values())
    for stage in wall:
        print(
            f"{stage:<13}{wall[stage]:>8.2f}{wall[stage] / duration:>8.3f}x{cpu[stage]:>8.2f}"
            f"{cpu[stage] / duration:>8.3f}x{cpu[stage] / cpu_total:>11.1%}"
        )
    if "word_times_cpu" in meta:
        refine = meta["word_times_cpu"]
        print(f"  of which word times (alignment): {refine:.2f} CPU s = {refine / duration:.3f}x")
    print(
        f"{'whole':<13}{total:>8.2f}{total / duration:>8.3f}x{cpu_total:>8.2f}"
        f"{cpu_total / duration:>8.3f}x{1:>11.0%}"
    )
    print("goal with Whisper tiny.en: whole pipeline <= 0.2x real time of CPU")
    return float(cpu_total)


if __name__ == "__main__":
    sys.exit(main())
