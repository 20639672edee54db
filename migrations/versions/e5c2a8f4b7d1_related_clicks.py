"""related clicks: a visitor followed a "Related questions" link (issue 16)

Revision ID: e5c2a8f4b7d1
Revises: e2b7c4a9d1f3
Create Date: 2026-12-01 23:05:00

One row per (thread, target, visitor): ``community/models/learning.py`` ``RelatedClick``,
written by ``GET /threads/<id>/related/<target>`` (``services/forum/related.py``).
"""
from alembic import op
import sqlalchemy as sa


revision = 'e5c2a8f4b7d1'
down_revision = 'e2b7c4a9d1f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'related_clicks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_related_clicks_thread_id_threads'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['target_id'], ['threads.id'], name=op.f('fk_related_clicks_target_id_threads'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_related_clicks')),
        sa.UniqueConstraint('thread_id', 'target_id', 'visitor_id',
                            name=op.f('uq_related_clicks_thread_id_target_id_visitor_id')),
    )
    op.create_index('ix_related_clicks_target_time', 'related_clicks', ['target_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_related_clicks_target_time', table_name='related_clicks')
    op.drop_table('related_clicks')
