"""tickets.body_html: a ticket's body rendered once, when it is written

Revision ID: b7e4c2a9d013
Revises: c5e0a2f9d317
Create Date: 2026-12-01 14:00:00

Pages no longer render Markdown on view.  Existing tickets get their body (and the
posts of their context snapshot) rendered here, once.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = 'b7e4c2a9d013'
down_revision = 'c5e0a2f9d317'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))

    from community.markup import render_markdown

    bind = op.get_bind()
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                       sa.column('body_html', sa.Text), sa.column('context', sa.JSON))
    for ticket_id, body, context in bind.execute(sa.select(tickets.c.id, tickets.c.body, tickets.c.context)).all():
        values = {"body_html": render_markdown(body or "")}
        if isinstance(context, str):
            context = json.loads(context)
        if isinstance(context, dict):
            posts = ([context["question"]] if context.get("question") else []) + list(context.get("replies") or [])
            for post in posts:
                if isinstance(post, dict) and "body_html" not in post:
                    post["body_html"] = render_markdown(post.get("body") or "")
            values["context"] = context
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(**values))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('body_html')
