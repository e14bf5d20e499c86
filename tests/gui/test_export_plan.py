"""The export's choices without Qt: the typed extension wins over the filter, subtitles of
several jobs go one file per job, and the dialog opens where the user expects."""

from __future__ import annotations

from pathlib import Path

from ecg_desktop.app.exports import ExportFormat
from ecg_desktop.domain import Job
from ecg_desktop.gui.export_plan import FILTERS, plan_export, start_folder, suggested_path


def test_the_typed_extension_wins_over_the_chosen_filter(tmp_path: Path) -> None:
    plan = plan_export(1, str(tmp_path / "words.csv"), FILTERS[ExportFormat.JSON])
    assert (plan.fmt, plan.target, plan.per_job) == (ExportFormat.CSV, tmp_path / "words.csv",
                                                     False)


def test_without_an_extension_the_filter_decides_and_adds_it(tmp_path: Path) -> None:
    plan = plan_export(2, str(tmp_path / "all"), FILTERS[ExportFormat.TXT])
    assert (plan.fmt, plan.target) == (ExportFormat.TXT, tmp_path / "all.txt")


def test_subtitles_of_several_jobs_go_one_file_each_in_the_folder(tmp_path: Path) -> None:
    plan = plan_export(3, str(tmp_path / "talks.srt"), FILTERS[ExportFormat.JSON])
    assert (plan.fmt, plan.target, plan.per_job) == (ExportFormat.SRT, tmp_path, True)
    assert plan.folder == tmp_path


def test_the_dialog_opens_in_the_setting_else_the_videos_folder(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    job = Job.new(filename="talk.mp4", local_path=str(videos / "talk.mp4"))
    gone = Job.new(filename="old.mp4", local_path=str(tmp_path / "gone" / "old.mp4"))
    assert start_folder([job], "", str(tmp_path)) == videos
    assert start_folder([job], str(tmp_path / "exports"), None) == tmp_path / "exports"
    assert start_folder([gone], "", str(tmp_path / "last")) == tmp_path / "last"
    assert suggested_path([job], videos).name == f"talk-{str(job.job_id)[:8]}.json"
    assert suggested_path([job, gone], videos) == videos / "transcripts.json"
