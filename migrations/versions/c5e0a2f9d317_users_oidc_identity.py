"""users.oidc_issuer, users.oidc_subject: the provider identity behind single sign-on

Revision ID: c5e0a2f9d317
Revises: d4e5f6a7b8c9
Create Date: 2026-12-01 14:35:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c5e0a2f9d317'
down_revision = 'd4e5f6a7b8c9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_issuer', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('oidc_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint('uq_users_oidc_issuer_oidc_subject', ['oidc_issuer', 'oidc_subject'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_oidc_issuer_oidc_subject', type_='unique')
        batch_op.drop_column('oidc_subject')
        batch_op.drop_column('oidc_issuer')
