"""threads.first_reply_at dropped: nothing read it (community health computes the first reply from
the replies themselves on every read, docs/metrics.md), and the stored value went wrong whenever the
reply was hidden, deleted or merged in from an older thread.

Dropped with SQLite's own ALTER TABLE ... DROP COLUMN (3.35+), not a batch copy of the table: the
column has no index or constraint, and recreating ``threads`` with foreign keys on would cascade.

Revision ID: a1d0f7c3e9b2
Revises: a9c4e2f7b1d3
Create Date: 2026-12-01 19:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a1d0f7c3e9b2'
down_revision = 'a9c4e2f7b1d3'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_column('threads', 'first_reply_at')


def downgrade():
    op.add_column('threads', sa.Column('first_reply_at', sa.DateTime(), nullable=True))
