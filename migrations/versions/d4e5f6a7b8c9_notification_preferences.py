"""notification preferences, thread subscriptions, digest time

Revision ID: d4e5f6a7b8c9
Revises: c3f4a5b6d7e8
Create Date: 2026-12-01 14:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4e5f6a7b8c9'
down_revision = 'c3f4a5b6d7e8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('email', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences'))
    )
    op.create_table('thread_subscriptions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_subscriptions_thread_id_threads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'thread_id', name=op.f('pk_thread_subscriptions'))
    )
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_thread_subscriptions_thread_level', ['thread_id', 'level'], unique=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_sent_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('digest_sent_at')
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_thread_subscriptions_thread_level')
    op.drop_table('thread_subscriptions')
    op.drop_table('notification_preferences')
