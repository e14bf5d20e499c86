"""Tables of the job store (the head of the migrations in ``migrations/versions``).

Times are stored in UTC: ``timestamptz`` on PostgreSQL, ISO text on SQLite (which sorts
chronologically, so "changed since" queries work on both).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on both back ends."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


jobs = sa.Table(
    "jobs",
    metadata,
    # The seed's columns
    sa.Column("job_id", sa.Uuid, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress", sa.Integer, nullable=False),
    sa.Column("video_url", sa.Text),
    sa.Column("file_key", sa.Text),
    sa.Column("result", sa.Text),  # the raw result JSON as received, never edited
    sa.Column("error_message", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime),
    # The desktop's
    sa.Column("stage", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("error_code", sa.String(40)),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("local_path", sa.Text),
    sa.Column("size_bytes", sa.BigInteger),
    sa.Column("content_type", sa.String(100)),
    sa.Column("duration_s", sa.Float),
    sa.Column("language", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("host", sa.String(200), nullable=False),
    sa.Column("speakers", sa.Integer),
    sa.Column("upload_id", sa.Text),
    sa.Column("upload_part_size", sa.BigInteger),
    sa.Column("upload_file_size", sa.BigInteger),
    sa.Column("upload_file_mtime_ns", sa.BigInteger),
    sa.Column("upload_parts", sa.Text),  # JSON {"part number": "etag"}
    sa.Column("dispatched_at", UTCDateTime),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("last_callback_at", UTCDateTime),
    sa.Column("retry_of", sa.Uuid),
    sa.Column("dispatch_options", sa.Text),  # JSON of DispatchOptions; NULL: none set
    sa.Column("ml_server", sa.Text),  # base URL of the ML server that took the job
    sa.Column("installation", sa.String(64)),  # the installation working on the job
    sa.Column("version", sa.Integer, nullable=False),
)

transcripts = sa.Table(
    "transcripts",
    metadata,
    sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("metadata", sa.Text, nullable=False),  # JSON
    sa.Column("features_measured", sa.Boolean, nullable=False),
    sa.Column("stored_at", UTCDateTime, nullable=False),
    sa.Column("edited_at", UTCDateTime),
    sa.Column("words_packed", sa.LargeBinary),  # store/packed.py; NULL before revision 0003
)

speakers = sa.Table(
    "speakers",
    metadata,
    sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("speaker_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.Text),  # NULL: not named by the user
    sa.Column("original_name", sa.Text),  # the name the result carried, if any
)

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("speaker_id", sa.String(100), nullable=False),
    sa.Column("original_speaker_id", sa.String(100)),  # NULL: not reassigned
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("original_text", sa.Text),  # NULL: not edited
)

words = sa.Table(
    "words",
    metadata,
    sa.Column("job_id", sa.Uuid, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("segment_idx", sa.Integer, primary_key=True),
    sa.Column("idx", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("original_text", sa.Text),  # NULL: not edited
    sa.Column("start_s", sa.Float, nullable=False),
    sa.Column("end_s", sa.Float, nullable=False),
    sa.Column("volume_db", sa.Float),
    sa.Column("pitch_hz", sa.Float),
    sa.Column("spectral_centroid", sa.Float),
    sa.Column("confidence", sa.Float),
)

sa.Index("ix_jobs_created_at", jobs.c.created_at)
sa.Index("ix_jobs_updated_at", jobs.c.updated_at)
sa.Index("ix_jobs_status", jobs.c.status)
sa.Index("ix_jobs_owner", jobs.c.owner)
sa.Index("ix_segments_job_speaker", segments.c.job_id, segments.c.speaker_id)
sa.Index("ix_words_job_start", words.c.job_id, words.c.start_s)
sa.Index(
    "ix_words_edited",
    words.c.job_id,
    sqlite_where=words.c.original_text.is_not(None),
    postgresql_where=words.c.original_text.is_not(None),
)
