"""Users over JSON."""
from __future__ import annotations

from flask import jsonify

from ..services.accounts import users
from .serializers import USER, user_json
from .spec import endpoint


@endpoint("/users/<username>", "GET", summary="A user's public profile", auth="public",
          response=USER, errors=(404,))
def get_user(username: str):
    user = users.get_by_username(username)
    return jsonify(user_json(user, users.profile_stats(user)))
