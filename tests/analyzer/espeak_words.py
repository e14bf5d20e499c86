"""Where espeak-ng itself puts each word: its synthesis word events, read through libespeak-ng.

The library renders exactly the samples the ``espeak-ng`` command writes (the command only adds
trailing silence), so word events map onto the turns of ``tests.media.make_speech_video``:
a word starts at ``turn.start + (event sample - leading silence) / rate``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from dataclasses import dataclass

import numpy as np

from tests.media import SAMPLE_RATE, TurnTruth, synthesize

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_SILENCE_THRESHOLD = 0.01  # the same trim as tests.media


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass(frozen=True)
class WordTime:
    word: str
    index: int  # position of the word in ``text.split()`` (espeak may fuse short words)
    start: float  # seconds from the start of the file


@functools.cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
    lib = ctypes.CDLL(name)
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, None, 0)
    if rate != SAMPLE_RATE:
        raise RuntimeError(f"libespeak-ng renders at {rate} Hz, expected {SAMPLE_RATE}")
    return lib


@functools.lru_cache(maxsize=64)
def _word_events(voice: str, text: str) -> tuple[tuple[int, int], ...]:
    """(character offset, sample) of each word event."""
    lib = _library()
    events: list[tuple[int, int]] = []
    encoded = text.encode()

    def on_audio(wav: object, count: int, event_list: ctypes.Array[_Event]) -> int:
        index = 0
        while event_list[index].type != _EVENT_LIST_TERMINATED:
            event = event_list[index]
            if event.type == _EVENT_WORD:
                events.append((event.text_position - 1, event.sample))  # 1-based position
            index += 1
        return 0

    callback = _Callback(on_audio)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        raise RuntimeError(f"espeak-ng has no voice {voice!r}")
    lib.espeak_Synth(encoded, len(encoded) + 1, 0, 0, 0, 0, None, None)
    lib.espeak_Synchronize()
    return tuple(events)


def word_times(turn: TurnTruth) -> list[WordTime]:
    """espeak-ng's own start time of every word of ``turn`` in the generated file."""
    samples = synthesize(turn.voice, turn.text)
    lead = int(np.flatnonzero(np.abs(samples) > _SILENCE_THRESHOLD)[0])
    encoded = turn.text.encode()
    words = turn.text.split()
    times: list[WordTime] = []
    for offset, sample in _word_events(turn.voice, turn.text):
        index = len(encoded[:offset].split())  # words wholly before this one
        if index >= len(words) or (times and index <= times[-1].index):
            continue  # espeak repeats a clause's word event at the end of the sentence
        word = words[index]
        times.append(WordTime(word, index, turn.start + max(0, sample - lead) / SAMPLE_RATE))
    return times
