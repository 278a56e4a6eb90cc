"""Create the event table.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "podium_events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                  primary_key=True),
        sa.Column("event_id", sa.LargeBinary(16), nullable=False, unique=True),
        sa.Column("task_id", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.UniqueConstraint("task_id", "seq", name="uq_podium_events_task_seq"),
    )
    op.create_index("ix_podium_events_task_time", "podium_events", ["task_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_podium_events_task_time", "podium_events")
    op.drop_table("podium_events")
