"""related clicks: the address key and whether the visitor cookie came back (issue 16)

Revision ID: a7d3e9c1b5f2
Revises: b3d8e6f1a2c4
Create Date: 2026-12-02 02:40:00

What search needs to learn from a click as from the other evidence
(``services/learning/clicks.py``): the hourly address cap and the cookie a script
replaying URLs does not keep.  Clicks recorded before are not learned from (``cookie_kept``
false).
"""
from alembic import op
import sqlalchemy as sa


revision = 'a7d3e9c1b5f2'
down_revision = 'b3d8e6f1a2c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('related_clicks') as batch:
        batch.add_column(sa.Column('address_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('cookie_kept', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('related_clicks') as batch:
        batch.drop_column('cookie_kept')
        batch.drop_column('address_key')
