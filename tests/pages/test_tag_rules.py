"""Tag rules accept what people write (.net, émoji, c++, node.js) and explain what they refuse."""
from __future__ import annotations

import pytest

from community.services.errors import ValidationError
from community.services.forum.threads import parse_tags


def test_dotted_and_accented_tags_are_accepted(app):
    assert parse_tags(".net émoji C++ c# node.js") == [".net", "émoji", "c++", "c#", "node.js"]
    assert parse_tags("Ünïcode 日本語") == ["ünïcode", "日本語"]


def test_decomposed_accents_are_one_tag(app):
    assert parse_tags("e\u0301moji émoji") == ["émoji"]


@pytest.mark.parametrize("bad", ["..net", "-x", "a_b", "a/b", "a<b", "+"])
def test_refused_tags_say_what_is_allowed(app, bad):
    with pytest.raises(ValidationError) as refused:
        parse_tags(bad)
    assert "must start with a letter, a digit or a dot (like .net)" in refused.value.message


def test_accented_tag_has_a_working_listing(client, make):
    thread = make.thread(tags="émoji .net")
    assert thread.title in client.get("/tags/émoji").get_data(as_text=True)
    assert thread.title in client.get("/questions?tag=.net").get_data(as_text=True)
