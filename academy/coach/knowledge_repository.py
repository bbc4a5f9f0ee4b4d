"""SQL for the coach's knowledge base: the chunks are `search_documents` rows, their vectors
`coach_chunk_embeddings`. Full-text search uses the structures of migration 0002 (FTS5 on SQLite, the
GIN expression index on PostgreSQL); vectors are compared in the database on PostgreSQL (pgvector)
and in memory on SQLite (the service holds the matrix)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from academy.models import ChunkEmbedding, Course, FaqEntry, GlossaryTerm, Lesson, SearchDocument

# Must stay identical to migration 0002's index expression, or PostgreSQL scans every row.
_PG_DOCUMENT = "to_tsvector('simple', d.title || ' ' || d.heading || ' ' || d.body)"
# Title 1.0, heading 0.5, body 0.25 (ts_rank's order is D, C, B, A): the same 4:2:1 as bm25 below.
_PG_WEIGHTED = (
    "setweight(to_tsvector('simple', d.title), 'A') || setweight(to_tsvector('simple', d.heading), 'B') "
    "|| setweight(to_tsvector('simple', d.body), 'D')"
)


@dataclass(frozen=True)
class ChunkRow:
    id: int
    course_id: int
    kind: str
    ref_id: int
    title: str
    heading: str
    body: str


@dataclass(frozen=True)
class PendingChunk:
    """A published chunk with the hash of its stored embedding for one model (None: not embedded)."""

    id: int
    title: str
    heading: str
    body: str
    stored_hash: str | None


class KnowledgeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    # --- chunks ---------------------------------------------------------------------------------

    async def documents(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """The chunks among `ids` that a student may read: published, in a published course."""
        if not ids:
            return {}
        stmt = (
            select(
                SearchDocument.id,
                SearchDocument.course_id,
                SearchDocument.kind,
                SearchDocument.ref_id,
                SearchDocument.title,
                SearchDocument.heading,
                SearchDocument.body,
            )
            .join(Course, Course.id == SearchDocument.course_id)
            .where(
                SearchDocument.id.in_(list(ids)),
                SearchDocument.published.is_(True),
                Course.published.is_(True),
            )
        )
        return {row.id: ChunkRow(*row) for row in (await self.session.execute(stmt)).all()}

    async def documents_version(self) -> tuple[int, ...]:
        """Changes whenever chunks are added or removed (a changed chunk is rewritten with a new id).

        On PostgreSQL the newest row's transaction id joins in: ids restart after a TRUNCATE
        (the test suite does that), transaction ids do not."""
        sql = "SELECT count(*), coalesce(max(id), 0) FROM search_documents"
        if self.dialect == "postgresql":
            sql = (
                "SELECT count(*), coalesce(max(id), 0), coalesce(max(xmin::text::bigint), 0) "
                "FROM search_documents"
            )
        row = (await self.session.execute(text(sql))).one()
        return tuple(int(value) for value in row)

    async def vocabulary(self) -> list[tuple[str, int]]:
        """Every term of the full-text index with the number of chunks holding it."""
        if self.dialect == "postgresql":
            rows = await self.session.execute(
                text(
                    "SELECT word, ndoc FROM ts_stat('SELECT to_tsvector(''simple'', "
                    "title || '' '' || heading || '' '' || body) FROM search_documents')"
                )
            )
        else:
            # fts5vocab reads the index itself; a TEMP table lives with the connection only, so the
            # schema (and `alembic check`) never sees it.
            await self.session.execute(
                text(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_fts_vocab "
                    "USING fts5vocab(main, search_fts, row)"
                )
            )
            rows = await self.session.execute(text("SELECT term, doc FROM temp.search_fts_vocab"))
        return [(str(term), int(count)) for term, count in rows.all()]

    async def fulltext(
        self, terms: Sequence[tuple[str, float]], *, course_id: int | None, limit: int
    ) -> list[tuple[int, float]]:
        """(chunk id, score) best first for an OR of prefix `terms`, each with its idf weight.

        SQLite's bm25 computes idf itself and ignores the weights. PostgreSQL's rankings have no
        idf, so common words would outrank the rare word a question is about: the score there is
        the idf-weighted sum of one ts_rank per term."""
        params: dict[str, object] = {"limit": limit}
        course_filter = ""
        if course_id is not None:
            course_filter = "AND d.course_id = :course_id"
            params["course_id"] = course_id
        # Only constant fragments and generated parameter names are interpolated below.
        if self.dialect == "postgresql":
            ranks = []
            for i, (term, weight) in enumerate(terms):
                params[f"t{i}"] = _tsquery_term(term)
                params[f"w{i}"] = weight
                ranks.append(
                    f"CAST(:w{i} AS float) "
                    f"* ts_rank('{{0.25, 0.25, 0.5, 1.0}}', v.wv, to_tsquery('simple', :t{i}), 1)"
                )
            params["q"] = " | ".join(_tsquery_term(term) for term, _ in terms)
            sql = (
                f"SELECT d.id, {' + '.join(ranks)} AS score "  # noqa: S608
                "FROM search_documents d JOIN courses c ON c.id = d.course_id "
                f"CROSS JOIN LATERAL (SELECT {_PG_WEIGHTED} AS wv) v "
                f"WHERE {_PG_DOCUMENT} @@ to_tsquery('simple', :q) AND d.published AND c.published "
                f"{course_filter} ORDER BY score DESC, d.id LIMIT :limit"
            )
            rows = (await self.session.execute(text(sql), params)).all()
            return [(int(r[0]), float(r[1])) for r in rows]
        params["q"] = " OR ".join(_fts5_term(term) for term, _ in terms)
        sql = (
            # bm25 is lower-is-better; title 4x, heading 2x, body 1x.
            "SELECT d.id, bm25(search_fts, 4.0, 2.0, 1.0) AS rank FROM search_fts "  # noqa: S608
            "JOIN search_documents d ON d.id = search_fts.rowid JOIN courses c ON c.id = d.course_id "
            f"WHERE search_fts MATCH :q AND d.published = 1 AND c.published = 1 {course_filter} "
            "ORDER BY rank LIMIT :limit"
        )
        rows = (await self.session.execute(text(sql), params)).all()
        return [(int(r[0]), -float(r[1])) for r in rows]

    # --- vectors ----------------------------------------------------------------------------------

    async def has_embeddings(self, model: str) -> bool:
        stmt = select(ChunkEmbedding.document_id).where(ChunkEmbedding.model == model).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def embeddings_version(self, model: str) -> tuple[int, int]:
        """Changes when a vector of `model` is added, removed or replaced (its hash is folded in)."""
        row = (
            await self.session.execute(
                text(
                    "SELECT count(*), coalesce(sum(document_id * (unicode(substr(content_hash, 1, 1)) "
                    "+ 31 * unicode(substr(content_hash, 2, 1)) "
                    "+ 961 * unicode(substr(content_hash, 3, 1)))), 0) "
                    "FROM coach_chunk_embeddings WHERE model = :model"
                ),
                {"model": model},
            )
        ).one()
        return int(row[0]), int(row[1])

    async def embedding_matrix(self, model: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(chunk ids, course ids, vectors) of every chunk embedded with `model`, for in-memory search."""
        stmt = (
            select(ChunkEmbedding.document_id, SearchDocument.course_id, ChunkEmbedding.vector)
            .join(SearchDocument, SearchDocument.id == ChunkEmbedding.document_id)
            .where(ChunkEmbedding.model == model)
            .order_by(ChunkEmbedding.document_id)
        )
        rows = (await self.session.execute(stmt)).all()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        courses = np.fromiter((r[1] for r in rows), np.int64, len(rows))
        return ids, courses, np.vstack([r[2] for r in rows]).astype(np.float32, copy=False)

    async def nearest(
        self, model: str, vector: np.ndarray, *, course_id: int | None, limit: int
    ) -> list[tuple[int, float]]:
        """PostgreSQL only: (chunk id, cosine similarity) of the closest readable chunks."""
        params: dict[str, object] = {
            "model": model,
            "q": "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]",
            "limit": limit,
        }
        course_filter = ""
        if course_id is not None:
            course_filter = "AND d.course_id = :course_id"
            params["course_id"] = course_id
        sql = (
            "SELECT e.document_id, e.vector <=> CAST(:q AS vector) AS distance "  # noqa: S608
            "FROM coach_chunk_embeddings e JOIN search_documents d ON d.id = e.document_id "
            "JOIN courses c ON c.id = d.course_id "
            f"WHERE e.model = :model AND d.published AND c.published {course_filter} "
            "ORDER BY distance LIMIT :limit"
        )
        rows = (await self.session.execute(text(sql), params)).all()
        return [(int(r[0]), 1.0 - float(r[1])) for r in rows]

    # --- sync -------------------------------------------------------------------------------------

    async def delete_other_models(self, model: str) -> int:
        result = await self.session.execute(
            delete(ChunkEmbedding)
            .where(ChunkEmbedding.model != model)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def published_chunks(self, model: str, *, after_id: int, limit: int) -> list[PendingChunk]:
        """Published chunks of published courses in id order from `after_id`, with their stored hash."""
        stmt = (
            select(
                SearchDocument.id,
                SearchDocument.title,
                SearchDocument.heading,
                SearchDocument.body,
                ChunkEmbedding.content_hash,
            )
            .join(Course, Course.id == SearchDocument.course_id)
            .outerjoin(
                ChunkEmbedding,
                (ChunkEmbedding.document_id == SearchDocument.id) & (ChunkEmbedding.model == model),
            )
            .where(
                SearchDocument.id > after_id, SearchDocument.published.is_(True), Course.published.is_(True)
            )
            .order_by(SearchDocument.id)
            .limit(limit)
        )
        return [PendingChunk(*row) for row in (await self.session.execute(stmt)).all()]

    async def save_embeddings(self, model: str, rows: Sequence[tuple[int, str, np.ndarray]]) -> None:
        """Store (chunk id, content hash, vector) rows, replacing what those chunks had."""
        # In slices: SQLite allows 32,766 bound variables per statement.
        for start in range(0, len(rows), 1000):
            part = rows[start : start + 1000]
            await self.session.execute(
                delete(ChunkEmbedding)
                .where(ChunkEmbedding.document_id.in_([r[0] for r in part]))
                .execution_options(synchronize_session=False)
            )
            await self.session.execute(
                insert(ChunkEmbedding),
                [{"document_id": i, "model": model, "content_hash": h, "vector": v} for i, h, v in part],
            )

    # --- evaluation sources -----------------------------------------------------------------------

    async def course_id(self, slug: str) -> int | None:
        return (await self.session.execute(select(Course.id).where(Course.slug == slug))).scalar_one_or_none()

    async def lesson_ids(self, course_ids: Sequence[int] | None = None) -> dict[str, int]:
        stmt = select(Lesson.slug, Lesson.id)
        if course_ids is not None:
            stmt = stmt.where(Lesson.course_id.in_(list(course_ids)))
        return {slug: lesson_id for slug, lesson_id in (await self.session.execute(stmt)).all()}

    async def glossary_ids(self, course_ids: Sequence[int] | None = None) -> dict[str, int]:
        stmt = select(GlossaryTerm.slug, GlossaryTerm.id)
        if course_ids is not None:
            stmt = stmt.where(GlossaryTerm.course_id.in_(list(course_ids)))
        return {slug: term_id for slug, term_id in (await self.session.execute(stmt)).all()}

    async def faq_questions(self, course_ids: Sequence[int] | None = None) -> list[tuple[int, str]]:
        stmt = select(FaqEntry.id, FaqEntry.question)
        if course_ids is not None:
            stmt = stmt.where(FaqEntry.course_id.in_(list(course_ids)))
        return [(entry_id, question) for entry_id, question in (await self.session.execute(stmt)).all()]


# Terms are \w+ words (the service tokenizes), so quoting is all the escaping either syntax needs.
# Short prefixes match half the index; they count only as whole words.
def _fts5_term(term: str) -> str:
    return f'"{term}"*' if len(term) >= 3 else f'"{term}"'


def _tsquery_term(term: str) -> str:
    return f"'{term}':*" if len(term) >= 3 else f"'{term}'"
