"""spent_links: signed mail links that work once (one-click accept from the reminder mail)

Revision ID: b3d8f1a6c2e4
Revises: a1d0f7c3e9b2
Create Date: 2026-12-01 19:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b3d8f1a6c2e4'
down_revision = 'a1d0f7c3e9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('spent_links',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_spent_links'))
    )


def downgrade():
    op.drop_table('spent_links')
