"""inferred deflection credits: a credit's kind, and when a session's credit was settled (issue 19)

Revision ID: b3d8e6f1a2c4
Revises: e5c2a8f4b7d1
Create Date: 2026-12-02 02:40:00

``deflection_credits.kind`` ("confirmed" for every existing row, "inferred" for those
``flask deflection credit`` writes) and ``ask_sessions.credit_settled_at`` with an index on
``last_activity_at`` (the job looks for sessions that ended since it last looked):
``community/services/deflection/credit.py``, docs/metrics.md.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d8e6f1a2c4'
down_revision = 'e5c2a8f4b7d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('deflection_credits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='confirmed', nullable=False))
    with op.batch_alter_table('ask_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_settled_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_ask_sessions_last_activity', ['last_activity_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ask_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_ask_sessions_last_activity')
        batch_op.drop_column('credit_settled_at')
    with op.batch_alter_table('deflection_credits', schema=None) as batch_op:
        batch_op.drop_column('kind')
