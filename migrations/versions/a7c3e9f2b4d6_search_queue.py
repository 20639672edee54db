"""search_queue: index updates waiting, written in the transaction of the change they follow

Revision ID: a7c3e9f2b4d6
Revises: b3d8f1a6c2e4
Create Date: 2026-12-01 19:25:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e9f2b4d6'
down_revision = 'b3d8f1a6c2e4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_queue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_queue'))
    )


def downgrade():
    op.drop_table('search_queue')
