"""The desktop's job columns (stage, upload resume state, ownership, ...) and the
normalised transcript (transcripts, speakers, segments, words).

Existing jobs keep every seed column; their stage is derived from their status. On
PostgreSQL the raw result becomes text so it is kept exactly as received.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _job_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("stage", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("error_code", sa.String(40)),
        sa.Column("filename", sa.Text, nullable=False, server_default=""),
        sa.Column("local_path", sa.Text),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("content_type", sa.String(100)),
        sa.Column("duration_s", sa.Float),
        sa.Column("language", sa.String(16), nullable=False, server_default="auto"),
        sa.Column("owner", sa.String(200), nullable=False, server_default=""),
        sa.Column("host", sa.String(200), nullable=False, server_default=""),
        sa.Column("speakers", sa.Integer),
        sa.Column("upload_id", sa.Text),
        sa.Column("upload_part_size", sa.BigInteger),
        sa.Column("upload_file_size", sa.BigInteger),
        sa.Column("upload_file_mtime_ns", sa.BigInteger),
        sa.Column("upload_parts", sa.Text),
        sa.Column("dispatched_at", _TIME),
        sa.Column("completed_at", _TIME),
        sa.Column("last_callback_at", _TIME),
        sa.Column("retry_of", sa.Uuid),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    ]


def _job_fk() -> sa.Column[object]:
    return sa.Column(
        "job_id", sa.Uuid, sa.ForeignKey("jobs.job_id", ondelete="CASCADE"), primary_key=True
    )


def upgrade() -> None:
    for column in _job_columns():
        op.add_column("jobs", column)
    jobs = sa.table("jobs", sa.column("status"), sa.column("stage"), sa.column("progress"))
    op.execute(
        jobs.update().values(
            stage=sa.case(
                (jobs.c.status.in_(["completed", "failed"]), "done"),
                (jobs.c.status == "processing", "analyzing"),
                else_="queued",
            )
        )
    )
    op.execute(jobs.update().where(jobs.c.progress.is_(None)).values(progress=0))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE jobs ALTER COLUMN result TYPE TEXT USING result::text")
        op.execute("UPDATE jobs SET created_at = now() WHERE created_at IS NULL")
    op.create_index("ix_jobs_created_at", "jobs", ["created_at"])
    op.create_index("ix_jobs_updated_at", "jobs", ["updated_at"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_index("ix_jobs_owner", "jobs", ["owner"])

    op.create_table(
        "transcripts",
        _job_fk(),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("features_measured", sa.Boolean, nullable=False),
        sa.Column("stored_at", _TIME, nullable=False),
        sa.Column("edited_at", _TIME),
    )
    op.create_table(
        "speakers",
        _job_fk(),
        sa.Column("speaker_id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("original_name", sa.Text),
    )
    op.create_table(
        "segments",
        _job_fk(),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("speaker_id", sa.String(100), nullable=False),
        sa.Column("original_speaker_id", sa.String(100)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("original_text", sa.Text),
    )
    op.create_index("ix_segments_job_speaker", "segments", ["job_id", "speaker_id"])
    op.create_table(
        "words",
        _job_fk(),
        sa.Column("segment_idx", sa.Integer, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("original_text", sa.Text),
        sa.Column("start_s", sa.Float, nullable=False),
        sa.Column("end_s", sa.Float, nullable=False),
        sa.Column("volume_db", sa.Float),
        sa.Column("pitch_hz", sa.Float),
        sa.Column("spectral_centroid", sa.Float),
        sa.Column("confidence", sa.Float),
    )
    op.create_index("ix_words_job_start", "words", ["job_id", "start_s"])


def downgrade() -> None:
    for table in ("words", "segments", "speakers", "transcripts"):
        op.drop_table(table)
    for name in ("ix_jobs_created_at", "ix_jobs_updated_at", "ix_jobs_status", "ix_jobs_owner"):
        op.drop_index(name, table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        for column in _job_columns():
            batch.drop_column(column.name)
