"""thread duplicates

Revision ID: 5e2c8a1f7b3d
Revises: 3d9a53a6edbc
Create Date: 2026-12-01 14:25:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2c8a1f7b3d'
down_revision = '3d9a53a6edbc'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('thread_duplicates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('original_id', sa.Integer(), nullable=False),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_thread_duplicates_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['original_id'], ['threads.id'], name=op.f('fk_thread_duplicates_original_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_duplicates_thread_id_threads'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_duplicates')),
    sa.UniqueConstraint('thread_id', name=op.f('uq_thread_duplicates_thread_id'))
    )
    with op.batch_alter_table('thread_duplicates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_duplicates_original_id'), ['original_id'], unique=False)


def downgrade():
    with op.batch_alter_table('thread_duplicates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_duplicates_original_id'))

    op.drop_table('thread_duplicates')
