from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text, update
from sqlalchemy.orm import defer, selectinload

from academy.kit.repository import Repository
from academy.models import (
    Course,
    FaqEntry,
    GlossaryTerm,
    Lesson,
    LessonPrerequisite,
    Module,
    Question,
    Quiz,
    SearchDocument,
)

# Words so common that matching them only slows FTS down and adds nothing to the ranking.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "what",
        "when",
        "which",
        "who",
        "why",
        "with",
        "и",
        "в",
        "во",
        "не",
        "что",
        "он",
        "на",
        "я",
        "с",
        "со",
        "как",
        "а",
        "то",
        "все",
        "она",
        "так",
        "его",
        "но",
        "да",
        "ты",
        "к",
        "у",
        "же",
        "вы",
        "за",
        "бы",
        "по",
        "только",
        "ее",
        "мне",
        "было",
        "вот",
        "от",
        "меня",
        "еще",
        "нет",
        "о",
        "из",
        "ему",
        "теперь",
        "когда",
        "даже",
        "ну",
        "вдруг",
        "ли",
        "если",
        "уже",
        "или",
        "ни",
        "быть",
        "был",
        "него",
        "до",
        "вас",
    ]
)


@dataclass(frozen=True)
class SearchHit:
    document: SearchDocument
    snippet: str
    rank: float


def search_terms(query: str) -> list[str]:
    words = re.findall(r"\w+", query.casefold())
    return [w for w in words if w not in STOP_WORDS][:12]


class CourseRepository(Repository[Course]):
    model = Course

    async def by_slug(self, slug: str) -> Course | None:
        return await self.one_or_none(select(Course).where(Course.slug == slug))

    async def with_outline(self, course_id: int) -> Course | None:
        stmt = (
            select(Course)
            .where(Course.id == course_id)
            .options(selectinload(Course.modules).selectinload(Module.lessons))
        )
        return await self.one_or_none(stmt)

    async def catalog(
        self, *, published_only: bool, query: str | None, level: str | None, offset: int, limit: int
    ) -> tuple[Sequence[Course], int]:
        stmt = select(Course)
        if published_only:
            stmt = stmt.where(Course.published.is_(True))
        if query:
            like = f"%{query.lower()}%"
            stmt = stmt.where(or_(func.lower(Course.title).like(like), func.lower(Course.summary).like(like)))
        if level:
            stmt = stmt.where(Course.level == level)
        total = await self.count(stmt)
        rows = await self.all(stmt.order_by(Course.title, Course.id).offset(offset).limit(limit))
        return rows, total

    async def lesson_counts(self, course_ids: Sequence[int]) -> dict[int, int]:
        if not course_ids:
            return {}
        stmt = (
            select(Lesson.course_id, func.count())
            .where(Lesson.course_id.in_(course_ids), Lesson.published.is_(True))
            .group_by(Lesson.course_id)
        )
        return {cid: n for cid, n in (await self.session.execute(stmt)).all()}

    async def all_courses(self) -> Sequence[Course]:
        return await self.all(select(Course).order_by(Course.title))

    # --- lessons ---

    async def lesson(self, lesson_id: int) -> Lesson | None:
        stmt = select(Lesson).where(Lesson.id == lesson_id).options(selectinload(Lesson.attachments))
        return (await self.session.execute(stmt)).scalars().first()

    async def lessons(
        self, course_id: int, *, published_only: bool = True, with_content: bool = False
    ) -> Sequence[Lesson]:
        """A course's lessons in order; without their text unless asked (it is most of a row's
        size, and outlines of long courses only need titles)."""
        stmt = select(Lesson).where(Lesson.course_id == course_id)
        if not with_content:
            stmt = stmt.options(
                defer(Lesson.content_md, raiseload=True), defer(Lesson.content_html, raiseload=True)
            )
        if published_only:
            stmt = stmt.where(Lesson.published.is_(True))
        return (await self.session.execute(stmt.order_by(Lesson.position))).scalars().all()

    async def lessons_page(
        self, course_id: int, *, published_only: bool, module_id: int | None, offset: int, limit: int
    ) -> tuple[Sequence[Lesson], int]:
        stmt = select(Lesson).where(Lesson.course_id == course_id)
        if published_only:
            stmt = stmt.where(Lesson.published.is_(True))
        if module_id is not None:
            stmt = stmt.where(Lesson.module_id == module_id)
        total = await self.count(stmt)
        rows = (
            await self.session.execute(stmt.order_by(Lesson.position).offset(offset).limit(limit))
        ).scalars()
        return rows.all(), total

    async def modules(self, course_id: int) -> Sequence[Module]:
        stmt = select(Module).where(Module.course_id == course_id).order_by(Module.position)
        return (await self.session.execute(stmt)).scalars().all()

    async def prerequisites(self, course_id: int) -> dict[int, list[int]]:
        stmt = (
            select(LessonPrerequisite.lesson_id, LessonPrerequisite.requires_id)
            .join(Lesson, Lesson.id == LessonPrerequisite.lesson_id)
            .where(Lesson.course_id == course_id)
        )
        result: dict[int, list[int]] = {}
        for lesson_id, requires_id in (await self.session.execute(stmt)).all():
            result.setdefault(lesson_id, []).append(requires_id)
        return result

    async def set_prerequisites(self, lesson_id: int, requires: Sequence[int]) -> bool:
        current = set(
            (
                await self.session.execute(
                    select(LessonPrerequisite.requires_id).where(LessonPrerequisite.lesson_id == lesson_id)
                )
            ).scalars()
        )
        if current == set(requires):
            return False
        await self.session.execute(
            delete(LessonPrerequisite).where(LessonPrerequisite.lesson_id == lesson_id)
        )
        self.session.add_all(LessonPrerequisite(lesson_id=lesson_id, requires_id=r) for r in requires)
        await self.session.flush()
        return True

    # --- quizzes ---

    async def quiz(self, quiz_id: int) -> Quiz | None:
        stmt = select(Quiz).where(Quiz.id == quiz_id).options(selectinload(Quiz.questions))
        return (await self.session.execute(stmt)).scalars().first()

    async def quiz_for_lesson(self, lesson_id: int) -> Quiz | None:
        stmt = select(Quiz).where(Quiz.lesson_id == lesson_id).options(selectinload(Quiz.questions))
        return (await self.session.execute(stmt)).scalars().first()

    async def quizzes_for_lessons(self, lesson_ids: Sequence[int]) -> dict[int, Quiz]:
        if not lesson_ids:
            return {}
        stmt = select(Quiz).where(Quiz.lesson_id.in_(lesson_ids))
        return {q.lesson_id: q for q in (await self.session.execute(stmt)).scalars()}

    async def delete_questions_from(self, quiz_id: int, position: int) -> None:
        await self.session.execute(
            delete(Question).where(Question.quiz_id == quiz_id, Question.position >= position)
        )

    # --- glossary, FAQ ---

    async def glossary(self, course_id: int) -> Sequence[GlossaryTerm]:
        stmt = (
            select(GlossaryTerm)
            .where(GlossaryTerm.course_id == course_id)
            .order_by(func.lower(GlossaryTerm.term))
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def faq(self, course_id: int, *, source: str | None = None) -> Sequence[FaqEntry]:
        stmt = select(FaqEntry).where(FaqEntry.course_id == course_id).order_by(FaqEntry.position)
        if source is not None:
            stmt = stmt.where(FaqEntry.source == source)
        return (await self.session.execute(stmt)).scalars().all()

    async def last_faq_position(self, course_id: int) -> int:
        stmt = select(func.max(FaqEntry.position)).where(FaqEntry.course_id == course_id)
        return int((await self.session.execute(stmt)).scalar_one_or_none() or 0)

    # --- search documents ---

    async def delete_documents(self, kind: str, ref_ids: Sequence[int]) -> None:
        if ref_ids:
            await self.session.execute(
                delete(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id.in_(ref_ids))
            )

    async def reset_document_visibility(self, course_id: int) -> None:
        """Documents carry their own item's flag only (the course's is checked when searching);
        rewrite them so indexes written when both flags were stored together stay right."""
        published_lessons = select(Lesson.id).where(Lesson.course_id == course_id, Lesson.published.is_(True))
        lesson_docs = and_(SearchDocument.course_id == course_id, SearchDocument.kind == "lesson")
        await self.session.execute(
            update(SearchDocument)
            .where(lesson_docs)
            .values(published=SearchDocument.ref_id.in_(published_lessons))
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(
            update(SearchDocument)
            .where(SearchDocument.course_id == course_id, SearchDocument.kind != "lesson")
            .values(published=True)
            .execution_options(synchronize_session=False)
        )

    async def search(
        self, query: str, *, course_id: int | None, kinds: Sequence[str] | None, offset: int, limit: int
    ) -> tuple[list[SearchHit], int]:
        terms = search_terms(query)
        if not terms:
            return [], 0
        if self.session.get_bind().dialect.name == "postgresql":
            return await self._search_postgres(terms, course_id, kinds, offset, limit)
        return await self._search_sqlite(terms, course_id, kinds, offset, limit)

    async def _search_sqlite(
        self, terms: list[str], course_id: int | None, kinds: Sequence[str] | None, offset: int, limit: int
    ) -> tuple[list[SearchHit], int]:
        # Prefix queries make Russian work without a stemmer ("индикатор" finds "индикаторы").
        match = " AND ".join(f'"{t}"*' for t in terms)
        filters = ["search_fts MATCH :match", "d.published = 1", "c.published = 1"]
        params: dict[str, object] = {"match": match, "limit": limit, "offset": offset}
        if course_id is not None:
            filters.append("d.course_id = :course_id")
            params["course_id"] = course_id
        if kinds:
            names = []
            for index, kind in enumerate(kinds):
                params[f"kind{index}"] = kind
                names.append(f":kind{index}")
            filters.append(f"d.kind IN ({', '.join(names)})")
        where = " AND ".join(filters)
        base = (
            "FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid "
            f"JOIN courses c ON c.id = d.course_id WHERE {where}"
        )
        total = (await self.session.execute(text(f"SELECT count(*) {base}"), params)).scalar_one()
        rows = (
            await self.session.execute(
                text(
                    # Title matches weigh 5x, headings 2x: a lesson named after the query should win.
                    "SELECT d.id, bm25(search_fts, 5.0, 2.0, 1.0) AS rank, "
                    "snippet(search_fts, 2, '<mark>', '</mark>', '…', 24) AS snip "
                    f"{base} ORDER BY rank LIMIT :limit OFFSET :offset"
                ),
                params,
            )
        ).all()
        return await self._hits([(r.id, -float(r.rank), r.snip) for r in rows]), int(total)

    async def _search_postgres(
        self, terms: list[str], course_id: int | None, kinds: Sequence[str] | None, offset: int, limit: int
    ) -> tuple[list[SearchHit], int]:
        # Same expression as the GIN index in migration 0002, or the index is not used.
        vector = func.to_tsvector(
            text("'simple'"), SearchDocument.title + " " + SearchDocument.heading + " " + SearchDocument.body
        )
        ts_query = func.to_tsquery(text("'simple'"), " & ".join(f"{_pg_lexeme(t)}:*" for t in terms))
        weighted = func.setweight(func.to_tsvector(text("'simple'"), SearchDocument.title), text("'A'")).op(
            "||"
        )(func.to_tsvector(text("'simple'"), SearchDocument.body))
        conditions: list[ColumnElement[bool]] = [
            vector.op("@@")(ts_query),
            SearchDocument.published.is_(True),
            SearchDocument.course_id.in_(select(Course.id).where(Course.published.is_(True))),
        ]
        if course_id is not None:
            conditions.append(SearchDocument.course_id == course_id)
        if kinds:
            conditions.append(SearchDocument.kind.in_(kinds))
        where = and_(*conditions)
        total = (
            await self.session.execute(select(func.count()).select_from(SearchDocument).where(where))
        ).scalar_one()
        rank = func.ts_rank_cd(weighted, ts_query)
        snippet = func.ts_headline(
            text("'simple'"),
            SearchDocument.body,
            ts_query,
            text("'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, MaxFragments=1'"),
        )
        stmt = (
            select(SearchDocument.id, rank.label("rank"), snippet.label("snip"))
            .where(where)
            .order_by(rank.desc(), SearchDocument.id)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(stmt)).all()
        return await self._hits([(r.id, float(r.rank), r.snip) for r in rows]), int(total)

    async def _hits(self, rows: list[tuple[int, float, str]]) -> list[SearchHit]:
        ids = [r[0] for r in rows]
        if not ids:
            return []
        docs = {
            d.id: d
            for d in (
                await self.session.execute(select(SearchDocument).where(SearchDocument.id.in_(ids)))
            ).scalars()
        }
        return [SearchHit(docs[i], snippet, rank) for i, rank, snippet in rows if i in docs]


def _pg_lexeme(term: str) -> str:
    # to_tsquery has its own syntax; a word is safe once quoted with doubled quotes removed.
    return "'" + term.replace("'", "").replace("\\", "") + "'"
