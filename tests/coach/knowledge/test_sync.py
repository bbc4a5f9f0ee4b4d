"""Keeping the vectors in step with the chunks: only what changed is embedded, and twice is once."""

from sqlalchemy import func, select

from academy.coach.knowledge import knowledge_service
from academy.kit import jobs
from academy.kit.uow import UnitOfWork
from academy.models import ChunkEmbedding, SearchDocument
from academy.worker import BEAT_SCHEDULE, TASK_MODULES, load_tasks
from tests.coach.knowledge.embedders import HashingEmbedder
from tests.fixtures.learning import import_course, make_course


async def _sync(embedder, **options):
    async with UnitOfWork() as uow:
        return await knowledge_service.sync(uow.session, embedder, **options)


async def _embedded(model=None):
    async with UnitOfWork() as uow:
        stmt = select(ChunkEmbedding.document_id, ChunkEmbedding.model)
        rows = (await uow.session.execute(stmt)).all()
    return {doc for doc, name in rows if model is None or name == model}


async def _documents(kind=None, ref_id=None):
    async with UnitOfWork() as uow:
        stmt = select(SearchDocument.id)
        if kind:
            stmt = stmt.where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
        return set((await uow.session.execute(stmt)).scalars())


async def test_sync_embeds_every_published_chunk_once(settings, tmp_path):
    await make_course(tmp_path, lessons=3, unpublished_lessons=[2])
    embedder = HashingEmbedder()
    first = await _sync(embedder)
    async with UnitOfWork() as uow:
        drafts = (
            await uow.session.execute(select(func.count()).where(SearchDocument.published.is_(False)))
        ).scalar_one()
    assert drafts > 0
    assert first.embedded == len(await _documents()) - drafts
    assert await _embedded("test-hashing") == set(first.document_ids)
    again = await _sync(embedder)
    assert (again.embedded, again.unchanged, again.removed) == (0, first.embedded, 0)
    assert embedder.embedded == first.embedded, "the second run embedded nothing"


async def test_editing_one_lesson_re_embeds_only_its_chunks(settings, tmp_path):
    course = await make_course(tmp_path, lessons=3)
    embedder = HashingEmbedder()
    await _sync(embedder)
    before = await _embedded()
    lesson_file = next(course.folder.glob("*/02-lesson-2.md"))
    text = lesson_file.read_text(encoding="utf-8")
    lesson_file.write_text(text + "\n\n## A new section\n\nSlippage eats small accounts.\n", encoding="utf-8")
    await import_course(course.folder)
    changed = await _documents("lesson", course.lessons[1])
    embedder.calls.clear()
    report = await _sync(embedder)
    assert set(report.document_ids) == changed
    assert embedder.embedded == len(changed)
    assert await _embedded() == (before & await _documents()) | changed


async def test_a_chunk_changed_in_place_is_re_embedded(settings, tmp_path):
    course = await make_course(tmp_path, lessons=1)
    embedder = HashingEmbedder()
    await _sync(embedder)
    async with UnitOfWork() as uow:
        doc = (
            (
                await uow.session.execute(
                    select(SearchDocument).where(SearchDocument.ref_id == course.lessons[0])
                )
            )
            .scalars()
            .first()
        )
        doc.body += " Edited in place."
        doc_id = doc.id
    report = await _sync(embedder)
    assert report.document_ids == [doc_id]


async def test_a_new_model_replaces_the_old_vectors(settings, tmp_path):
    await make_course(tmp_path, lessons=2)
    first = await _sync(HashingEmbedder("model-a"))
    second = await _sync(HashingEmbedder("model-b"))
    assert second.removed == first.embedded and second.embedded == first.embedded
    assert await _embedded("model-a") == set() and await _embedded("model-b") == set(second.document_ids)


async def test_long_backlogs_are_embedded_over_several_runs(settings, tmp_path):
    await make_course(tmp_path, lessons=3)
    embedder = HashingEmbedder()
    total = len(await _documents())
    first = await _sync(embedder, limit=2)
    assert (first.embedded, first.remaining) == (2, total - 2)
    rest = await _sync(embedder)
    assert rest.embedded == total - 2 and rest.remaining == 0


async def test_without_an_embedder_sync_does_nothing(settings, tmp_path):
    await make_course(tmp_path, lessons=1)
    report = await _sync(None)
    assert report.model is None and report.embedded == 0
    assert await _embedded() == set()


async def test_the_job_is_registered_and_scheduled(settings, tmp_path, monkeypatch):
    load_tasks()
    assert "academy.coach.tasks" in TASK_MODULES
    assert BEAT_SCHEDULE["coach.sync_knowledge"]["task"] == "coach.sync_knowledge"
    await make_course(tmp_path, lessons=1)
    embedder = HashingEmbedder()
    monkeypatch.setattr("academy.coach.knowledge.default_embedder", lambda: embedder)
    embedded = await jobs.run_task("coach.sync_knowledge")
    assert embedded > 0 and await _embedded("test-hashing")
