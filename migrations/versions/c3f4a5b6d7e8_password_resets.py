"""password resets

Revision ID: c3f4a5b6d7e8
Revises: b3d9e4f1a2c7
Create Date: 2026-12-01 14:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3f4a5b6d7e8'
down_revision = 'b3d9e4f1a2c7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('requested_ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets'))
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index('ix_password_resets_token_hash', ['token_hash'], unique=True)
        batch_op.create_index('ix_password_resets_user_id', ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index('ix_password_resets_user_id')
        batch_op.drop_index('ix_password_resets_token_hash')
    op.drop_table('password_resets')
