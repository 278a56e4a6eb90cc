"""Create the worker table: each process running workflows registers and renews a heartbeat,
so the workflows of a process that died are taken over by a live one.

Revision ID: 0004_workers
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_workers"
down_revision = "0003_provider_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    workers = op.create_table(
        "podium_workers",
        sa.Column("worker_id", sa.String(200), primary_key=True),  # the DBOS executor id
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),  # the process's start, Unix time
        sa.Column("heartbeat_at", sa.Float, nullable=False),  # Unix time; 0 once released
    )
    # Before this table every process used DBOS's default executor id "local". Registered as
    # released, its interrupted workflows are taken over by the first process to start.
    op.bulk_insert(workers, [{"worker_id": "local", "host": "", "pid": 0, "started_at": 0,
                              "heartbeat_at": 0}])


def downgrade() -> None:
    op.drop_table("podium_workers")
