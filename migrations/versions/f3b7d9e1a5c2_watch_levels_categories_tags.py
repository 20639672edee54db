"""category_subscriptions, tag_subscriptions; thread_subscriptions.last_read_post_id (tracking);
users.auto_watch (the level asking or answering gives a thread); users.username_changeable (a username
derived at the first single sign-on can be changed once)

Revision ID: f3b7d9e1a5c2
Revises: e8a1c4d2f6b9
Create Date: 2026-12-01 16:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b7d9e1a5c2'
down_revision = 'e8a1c4d2f6b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('category_subscriptions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_category_subscriptions_category_id_categories'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_category_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'category_id', name=op.f('pk_category_subscriptions'))
    )
    op.create_index('ix_category_subscriptions_category_level', 'category_subscriptions', ['category_id', 'level'], unique=False)
    op.create_table('tag_subscriptions',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_tag_subscriptions_tag_id_tags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tag_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'tag_id', name=op.f('pk_tag_subscriptions'))
    )
    op.create_index('ix_tag_subscriptions_tag_level', 'tag_subscriptions', ['tag_id', 'level'], unique=False)
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_read_post_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auto_watch', sa.String(length=20), nullable=True, server_default='watching'))
        batch_op.add_column(sa.Column('username_changeable', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('username_changeable')
        batch_op.drop_column('auto_watch')
    with op.batch_alter_table('thread_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('last_read_post_id')
    op.drop_index('ix_tag_subscriptions_tag_level', table_name='tag_subscriptions')
    op.drop_table('tag_subscriptions')
    op.drop_index('ix_category_subscriptions_category_level', table_name='category_subscriptions')
    op.drop_table('category_subscriptions')
