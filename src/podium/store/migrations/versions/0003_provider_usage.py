"""Create the provider ledger: daily request counts per deployment, money spent per task/day.

Revision ID: 0003_provider_usage
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_provider_usage"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "podium_provider_requests",
        sa.Column("deployment", sa.String(200), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),  # UTC, YYYY-MM-DD
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "podium_provider_spend",
        sa.Column("scope", sa.String(16), primary_key=True),  # "task" or "day"
        sa.Column("key", sa.String(200), primary_key=True),  # a task id or a UTC date
        sa.Column("cost_usd", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("podium_provider_spend")
    op.drop_table("podium_provider_requests")
