"""users: the daily cap's counter (cap_day, cap_points), filled from the ledger

Revision ID: d7e3b1c9a5f4
Revises: e7b3d5f9a2c4
Create Date: 2026-12-03 16:00:00

A capped award read the sum of the user's ledger rows of the day (one more statement under the
user's lock, over more rows with every vote of the day); the counter is read with the lock and
written with the total.  Filled here as ``reputation.recompute_cap_counters`` computes it: the
user's latest ``cap_day`` and the sum of their rows of that day.  Plain ``ADD COLUMN`` on both
databases (a nullable column, and one with a constant default).
"""
import sqlalchemy as sa
from alembic import op


revision = 'd7e3b1c9a5f4'
down_revision = 'e7b3d5f9a2c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("cap_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("cap_points", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE users SET cap_day = (SELECT max(e.cap_day) FROM reputation_events e"
               " WHERE e.user_id = users.id AND e.cap_day IS NOT NULL)")
    op.execute("UPDATE users SET cap_points = (SELECT coalesce(sum(e.points), 0) FROM reputation_events e"
               " WHERE e.user_id = users.id AND e.cap_day = users.cap_day) WHERE cap_day IS NOT NULL")


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("cap_points")
        batch.drop_column("cap_day")
