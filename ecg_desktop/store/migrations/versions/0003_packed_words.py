"""Each transcript's words packed into one value beside its rows (``transcripts.words_packed``,
see ``ecg_desktop/store/packed.py``), and an index of the words the user corrected.

Loading a long transcript then reads one value instead of a row per word. Transcripts stored
before this revision have none and keep loading from their rows.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_EDITED = "original_text IS NOT NULL"


def upgrade() -> None:
    op.add_column("transcripts", sa.Column("words_packed", sa.LargeBinary))
    if op.get_bind().dialect.name == "postgresql":
        # Stored out of line but not compressed: the floats hardly compress, and every load
        # would pay for the decompression.
        op.execute("ALTER TABLE transcripts ALTER COLUMN words_packed SET STORAGE EXTERNAL")
    op.create_index(
        "ix_words_edited", "words", ["job_id"],
        sqlite_where=sa.text(_EDITED), postgresql_where=sa.text(_EDITED),
    )


def downgrade() -> None:
    op.drop_index("ix_words_edited", table_name="words")
    with op.batch_alter_table("transcripts") as batch:
        batch.drop_column("words_packed")
