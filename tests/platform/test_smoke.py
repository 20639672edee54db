def test_home_thread_and_profile_render(client, make):
    thread = make.thread(tags=["billing"])
    make.reply(thread)
    assert client.get("/").status_code == 200
    page = client.get(f"/threads/{thread.id}/{thread.slug}")
    assert page.status_code == 200
    assert thread.title.encode() in page.data
    assert client.get(f"/users/{thread.author.username}").status_code == 200
    assert client.get("/api/v1/openapi.json").json["openapi"].startswith("3.")
