"""users.avatar, users.deleted_at; threads.accept_reminded_at, threads.unanswered_offered_at;
outbox.user_id, outbox.throttle_key (mail throttling)

Revision ID: e8a1c4d2f6b9
Revises: 5e2c8a1f7b3d
Create Date: 2026-12-01 16:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8a1c4d2f6b9'
down_revision = '5e2c8a1f7b3d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('avatar', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accept_reminded_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('unanswered_offered_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('throttle_key', sa.String(length=80), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_user_id_users'), 'users', ['user_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.create_index('ix_outbox_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index('ix_outbox_throttle', ['throttle_key', 'available_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_throttle')
        batch_op.drop_index('ix_outbox_user_created')
        batch_op.drop_constraint(batch_op.f('fk_outbox_user_id_users'), type_='foreignkey')
        batch_op.drop_column('throttle_key')
        batch_op.drop_column('user_id')
    with op.batch_alter_table('threads', schema=None) as batch_op:
        batch_op.drop_column('unanswered_offered_at')
        batch_op.drop_column('accept_reminded_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('avatar')
