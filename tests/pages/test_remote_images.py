"""Remote images in posts are links, never loaded by readers' browsers; the CSP allows only our own images."""
from __future__ import annotations

from community.markup import render_markdown


def test_remote_image_becomes_a_link_named_after_it():
    html = render_markdown("See ![error dialog](https://tracker.example/pixel.gif?u=1)")
    assert "<img" not in html
    assert '<a href="https://tracker.example/pixel.gif?u=1" rel="nofollow ugc"' in html
    assert "Image: error dialog" in html


def test_local_upload_stays_an_image():
    assert '<img alt="shot" src="/uploads/0a1b2c.png">' in render_markdown("![shot](/uploads/0a1b2c.png)")


def test_protocol_relative_and_unsafe_sources_are_not_images():
    assert "<img" not in render_markdown("![x](//evil.example/p.png) ![y](/uploads//evil.example/p.png)")
    assert "<img" not in render_markdown("![z](javascript:alert(1))")


def test_image_inside_a_link_keeps_one_link():
    html = render_markdown("[![badge](https://ci.example/b.svg)](https://ci.example)")
    assert html.count("<a ") == 1 and "[Image: badge]" in html


def test_posted_remote_image_is_a_link_on_the_thread_page(client, make):
    thread = make.thread(body="It fails like this: ![screenshot](https://images.example/s.png) every time.")
    html = client.get(f"/threads/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert 'src="https://images.example' not in html and 'href="https://images.example/s.png"' in html


def test_csp_allows_images_only_from_this_site(client):
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "img-src 'self';" in csp + ";" and "https:" not in csp
