"""ECG Desktop: transcription, speaker diarization and per-word acoustic analysis of videos."""

__version__ = "0.1.0"
