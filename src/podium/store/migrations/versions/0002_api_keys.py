"""Create the API key table: keys are stored as hashes, never in clear.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "podium_api_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("revoked_at", sa.String(40), nullable=True),
    )
    # One row per task (its TASK_CREATED, seq 1): listing tasks newest first reads only these.
    op.create_index("ix_podium_events_task_heads", "podium_events", ["position"],
                    sqlite_where=sa.text("seq = 1"), postgresql_where=sa.text("seq = 1"))


def downgrade() -> None:
    op.drop_index("ix_podium_events_task_heads", "podium_events")
    op.drop_table("podium_api_keys")
