"""Full-text search over lessons, glossary and FAQ as a reader uses it."""

import re

import pytest
from sqlalchemy import update

from academy.kit.uow import UnitOfWork
from academy.models import Course, Role
from tests.fixtures.app import api_login, make_user
from tests.fixtures.learning import import_course, make_course


async def _search(client, q, **params):
    r = await client.get("/api/v1/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


async def test_the_lesson_about_the_query_comes_first(client, real_course):
    slug_of = dict(zip(real_course.lessons, real_course.lesson_slugs, strict=True))
    expected = {
        "position sizing": "position-sizing",
        "bollinger": "bollinger-bands",
        "Bollinger Bands": "bollinger-bands",
        "MACD": "macd",
        "walk-forward": "overfitting-and-walk-forward",
        "backtest": "backtesting",
    }
    firsts = {}
    for query in expected:
        found = await _search(client, query, kind="lesson")
        assert found["total"] >= 1, query
        firsts[query] = slug_of[found["items"][0]["lesson_id"]]
    assert firsts == expected


async def test_results_carry_highlighted_safe_snippets_and_links(client, real_course):
    found = await _search(client, "position sizing", kind="lesson")
    assert found["items"], "something is found"
    assert "<mark>" in found["items"][0]["snippet"]
    for item in found["items"]:
        # a section matched through the lesson title has no highlight in its text, but says why
        matched_title = {"position", "sizing"} <= set(re.findall(r"\w+", item["title"].casefold()))
        assert "<mark>" in item["snippet"] or matched_title, item
        # only the highlight survives as markup; stored text is escaped
        assert "<" not in re.sub(r"</?mark>", "", item["snippet"])
        assert item["course_id"] == real_course.id
    first = found["items"][0]
    assert first["kind"] == "lesson" and first["url"] == f"/lessons/{first['lesson_id']}"
    marked = re.findall(r"<mark>(.*?)</mark>", " ".join(i["snippet"] for i in found["items"]))
    assert marked and all(m.casefold().startswith(("position", "sizing")) for m in marked), marked


async def test_glossary_terms_and_faq_are_searchable_and_kind_filters(client, real_course):
    terms = await _search(client, "slippage", kind="glossary")
    assert terms["items"] and all(i["kind"] == "glossary" for i in terms["items"])
    assert terms["items"][0]["title"] == "Slippage"
    glossary = (await client.get(f"/api/v1/courses/{real_course.id}/glossary")).json()
    slippage_id = next(t["id"] for t in glossary if t["term"] == "Slippage")
    assert terms["items"][0]["url"] == f"/courses/{real_course.id}/glossary#term-{slippage_id}"
    assert terms["items"][0]["lesson_id"] is None

    faq = await _search(client, "broker", kind="faq")
    assert faq["items"] and all(i["kind"] == "faq" for i in faq["items"])
    assert any(i["title"] == "How do I choose a broker?" for i in faq["items"])

    everything = await _search(client, "broker", size=100)
    kinds = {i["kind"] for i in everything["items"]}
    assert kinds == {"lesson", "glossary", "faq"}
    lessons_only = await _search(client, "broker", kind="lesson", size=100)
    assert {i["kind"] for i in lessons_only["items"]} == {"lesson"}
    assert lessons_only["total"] == sum(1 for i in everything["items"] if i["kind"] == "lesson")
    assert (await client.get("/api/v1/search", params={"q": "broker", "kind": "video"})).status_code == 422


async def test_search_is_paginated(client, real_course):
    whole = await _search(client, "price", size=100)
    assert whole["total"] > 10 and len(whole["items"]) == min(whole["total"], 100)
    pages = [await _search(client, "price", size=5, page=n) for n in (1, 2, 3)]
    assert all(p["total"] == whole["total"] and p["size"] == 5 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3]
    keys = [(i["kind"], i["url"], i["heading"], i["snippet"]) for p in pages for i in p["items"]]
    assert len(keys) == 15 and len(set(keys)) == 15, "pages do not overlap"
    assert keys == [(i["kind"], i["url"], i["heading"], i["snippet"]) for i in whole["items"][:15]]
    beyond = await _search(client, "price", size=5, page=1000)
    assert beyond["items"] == [] and beyond["total"] == whole["total"]
    assert (await client.get("/api/v1/search", params={"q": "price", "size": 101})).status_code == 422
    assert (await client.get("/api/v1/search", params={"q": ""})).status_code == 422


async def test_russian_words_are_found_by_their_stem(client, tmp_path):
    course = await make_course(
        tmp_path,
        slug="russian",
        title="Основы",
        lessons=2,
        quiz=False,
        titles={0: "Технический анализ"},
        bodies={0: "## Введение\n\nИндикаторы помогают увидеть тренд. Скользящие средние сглаживают цену.\n"},
        glossary=[("Индикатор", "Формула, которая превращает цены в сигнал.")],
    )
    for query in ("индикатор", "Индикатор", "индикаторы", "скользящ"):
        found = await _search(client, query, kind="lesson")
        assert [i["lesson_id"] for i in found["items"]] == [course.lessons[0]], query
    snippet = (await _search(client, "индикатор", kind="lesson"))["items"][0]["snippet"]
    assert "<mark>Индикаторы</mark>" in snippet
    terms = await _search(client, "индикатор", kind="glossary")
    assert [i["title"] for i in terms["items"]] == ["Индикатор"]
    assert (await _search(client, "тренды и индикатор"))["total"] == 0, "every word must match"


@pytest.mark.parametrize("who", ["anonymous", "student", "admin"])
async def test_unpublished_lessons_and_courses_never_appear(client, tmp_path, who):
    await make_course(
        tmp_path / "a",
        lessons=2,
        quiz=False,
        unpublished_lessons=[1],
        bodies={0: "## Open\n\nA visible walrus.\n", 1: "## Draft\n\nA secret narwhal.\n"},
    )
    await make_course(
        tmp_path / "b",
        slug="draft-course",
        lessons=1,
        quiz=False,
        published=False,
        bodies={0: "## Hidden\n\nAn unreleased narwhal and a walrus.\n"},
        glossary=[("Narwhal", "A whale with a tusk.")],
        faq=[("Where is the narwhal?", "Nowhere yet.")],
    )
    headers = {}
    if who != "anonymous":
        user = await make_user(role=Role.admin if who == "admin" else Role.student)
        headers = await api_login(client, user.email)
    r = await client.get("/api/v1/search", params={"q": "narwhal"}, headers=headers)
    assert r.json()["total"] == 0 and r.json()["items"] == []
    walrus = (await client.get("/api/v1/search", params={"q": "walrus"}, headers=headers)).json()
    assert [i["title"] for i in walrus["items"]] == ["Lesson 1"]


async def test_a_lesson_unpublished_by_an_editor_leaves_the_results(client, tmp_path):
    course = await make_course(tmp_path, lessons=2, quiz=False, bodies={1: "## Zoo\n\nThe okapi is shy.\n"})
    curator = await make_user(role=Role.curator)
    headers = await api_login(client, curator.email)
    assert (await _search(client, "okapi"))["total"] == 1
    r = await client.patch(f"/api/v1/lessons/{course.lessons[1]}", headers=headers, json={"published": False})
    assert r.status_code == 200
    assert (await _search(client, "okapi"))["total"] == 0
    r = await client.patch(
        f"/api/v1/lessons/{course.lessons[1]}",
        headers=headers,
        json={"published": True, "content_md": "## Zoo\n\nThe tapir is shy.\n"},
    )
    assert (await _search(client, "okapi"))["total"] == 0
    assert [i["lesson_id"] for i in (await _search(client, "tapir"))["items"]] == [course.lessons[1]]


async def test_publishing_or_withdrawing_a_course_updates_what_search_shows(client, tmp_path):
    course = await make_course(
        tmp_path,
        lessons=1,
        quiz=False,
        published=False,
        bodies={0: "## Zoo\n\nThe quokka smiles.\n"},
        glossary=[("Quokka", "A small marsupial.")],
        faq=[("Is the quokka real?", "Yes.")],
    )
    assert (await _search(client, "quokka"))["total"] == 0
    course_yaml = course.folder / "course.yaml"
    course_yaml.write_text(course_yaml.read_text().replace("published: false", "published: true"))
    report = await import_course(course.folder)
    assert report.updated == ["course test-course"]
    found = await _search(client, "quokka")
    assert sorted(i["kind"] for i in found["items"]) == ["faq", "glossary", "lesson"]

    course_yaml.write_text(course_yaml.read_text().replace("published: true", "published: false"))
    await import_course(course.folder)
    assert (await _search(client, "quokka"))["total"] == 0

    course_yaml.write_text(course_yaml.read_text().replace("published: false", "published: true"))
    await import_course(course.folder)
    assert (await _search(client, "quokka"))["total"] == 3
    async with UnitOfWork() as uow:  # as the admin screen does it: the row only, no reindex
        await uow.session.execute(update(Course).where(Course.id == course.id).values(published=False))
    assert (await _search(client, "quokka"))["total"] == 0
