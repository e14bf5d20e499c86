"""Peak memory of the analyzer's signal stages on a long recording.

    .venv/bin/python bench/analyzer_memory.py [--hours 3] [--stages decode,features,diarization]

Writes a 16 kHz mono WAV of ``--hours`` by repeating a two-voice espeak-ng conversation (a
male and a female voice taking turns), written in chunks so the generator never holds the
whole signal. Then a child process runs the stages the way the worker does (decode with
PyAV, frame features, voice activity and diarization) and reports its peak resident memory
(``ru_maxrss``). Baselines measured in the same run: the child's memory after its imports,
and the decoded signal's own size (float32 at 16 kHz), so the figure reads as "imports +
signal + what the stages add". Recognition is left out: its model's memory does not grow
with the recording (faster-whisper reads 30 s windows).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.media import SAMPLE_RATE as SPEECH_RATE
from tests.media import synthesize

RATE = 16_000
TURNS = [
    ("en-us", "The quick brown fox jumps over the lazy dog near the river bank."),
    ("en-us+f3", "I would rather stay home and read a good book by the fire tonight."),
    ("en-us", "That sounds boring to me, but I understand why you like it so much."),
    ("en-us+f3", "Maybe next week we can do something together in the city."),
]
GAP_S = 0.6
MIB = 1024 * 1024


def conversation() -> np.ndarray:
    """About 20 s of two voices taking turns, as int16 at 16 kHz."""
    gap = np.zeros(int(GAP_S * SPEECH_RATE), np.float32)
    pieces = [gap]
    for voice, text in TURNS:
        pieces += [synthesize(voice, text), gap]
    audio = signal.resample_poly(np.concatenate(pieces), RATE // 100, SPEECH_RATE // 100)
    samples: np.ndarray = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    return samples


def write_recording(path: Path, hours: float) -> float:
    clip = conversation().tobytes()
    repeats = max(1, round(hours * 3600 * RATE * 2 / len(clip)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        for _ in range(repeats):
            out.writeframes(clip)
    return repeats * len(clip) / 2 / RATE


def child(path: str, stages: list[str]) -> None:
    """Runs in the child: the stages, then one JSON line of figures."""
    from ecg_desktop.analyzer.diarization import diarize, speech_mask
    from ecg_desktop.analyzer.features import analyse_frames
    from ecg_desktop.analyzer.media import decode_audio

    def peak() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    figures: dict[str, float] = {"imports_mib": peak()}
    started = time.perf_counter()
    audio = decode_audio(Path(path))
    figures["decode_s"] = time.perf_counter() - started
    figures["decode_peak_mib"] = peak()
    figures["signal_mib"] = audio.nbytes / MIB
    if "features" in stages:
        started = time.perf_counter()
        frames = analyse_frames(audio)
        figures["features_s"] = time.perf_counter() - started
        figures["features_peak_mib"] = peak()
        if "diarization" in stages:
            started = time.perf_counter()
            turns = diarize(frames, speech_mask(frames.energy_db))
            figures["diarization_s"] = time.perf_counter() - started
            figures["speakers"] = len({t.speaker for t in turns})
    figures["peak_mib"] = peak()
    print(json.dumps(figures))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--stages", default="decode,features,diarization")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    stages = args.stages.split(",")
    if args.child:
        child(args.child, stages)
        return 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "long.wav"
        started = time.perf_counter()
        seconds = write_recording(path, args.hours)
        print(
            f"recording: {seconds / 3600:.2f} h of 16 kHz mono WAV, "
            f"{path.stat().st_size / MIB:.0f} MiB "
            f"(written in {time.perf_counter() - started:.0f} s)"
        )
        command = [sys.executable, __file__, "--child", str(path), "--stages", args.stages]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    signal_mib = figures["signal_mib"]
    print(f"child after imports (baseline)   {figures['imports_mib']:7.0f} MiB")
    print(f"decoded signal, float32 (baseline) {signal_mib:5.0f} MiB")
    for stage in ("decode", "features"):
        if f"{stage}_peak_mib" in figures:
            print(
                f"peak after {stage:<12}          {figures[f'{stage}_peak_mib']:7.0f} MiB"
                f"   ({figures[f'{stage}_s']:.1f} s)"
            )
    if "diarization_s" in figures:
        print(f"diarization: {figures['speakers']} speakers   ({figures['diarization_s']:.1f} s)")
    peak = figures["peak_mib"]
    added = peak - figures["imports_mib"] - signal_mib
    print(
        f"peak RSS {peak:.0f} MiB = {peak / signal_mib:.2f}x the signal; "
        f"beyond imports + signal: {added:.0f} MiB (goal: peak < 1536 MiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
