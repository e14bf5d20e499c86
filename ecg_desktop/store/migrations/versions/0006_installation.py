"""Which installation works on each job (``app/installation.py``), so recovery and the
watchdog of one desktop never act on another's jobs (a host name is not unique); and no
presigned download link is kept in the shared database any more (one is made when needed).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("installation", sa.String(64)))
    op.execute("UPDATE jobs SET video_url = NULL WHERE video_url IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("installation")
