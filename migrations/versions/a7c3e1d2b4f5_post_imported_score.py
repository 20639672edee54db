"""posts.imported_score: the part of a score that an import brought in

Revision ID: a7c3e1d2b4f5
Revises: f61b57e63d8f
Create Date: 2026-12-01 10:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e1d2b4f5'
down_revision = 'f61b57e63d8f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('imported_score', sa.Integer(), server_default='0', nullable=False))
    # Posts imported before this column (their thread has an external id): their score
    # minus their votes is what the import brought.  Other posts keep 0, so that drift
    # on them stays visible to `flask check`.
    op.execute("UPDATE posts SET imported_score = score - COALESCE("
               "(SELECT SUM(value) FROM votes WHERE votes.post_id = posts.id), 0) "
               "WHERE thread_id IN (SELECT id FROM threads WHERE external_id IS NOT NULL)")


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('imported_score')
