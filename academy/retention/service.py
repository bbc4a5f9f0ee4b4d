"""Dropout risk: scoring every enrolment, at-risk episodes with a hold-out group, nudges, the curator
roster, and the school's own risk model. The only entry point to the retention domain.

Scoring reads learning history in bulk (retention.repository) and turns it into point-in-time
features (retention.features); the scorer is the rule table (retention.scoring) unless a trained
model beat it on held-out enrolments (retention.training).
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from academy.config import get_settings
from academy.enrollment.service import enrollment_service
from academy.kit import clock, i18n, jobs
from academy.kit.errors import Forbidden, NotFound, Unprocessable
from academy.kit.pagination import Page, PageParams
from academy.models import Enrollment, Nudge, RiskEpisode, RiskModel, RiskScore, Role, User
from academy.notification.schemas import NotificationPayload
from academy.notification.service import notification_service
from academy.retention import training
from academy.retention.errors import NudgeCapReached
from academy.retention.features import (
    COACH_WINDOW,
    FEATURES,
    STREAK_WINDOW,
    Features,
    History,
    HomeworkItem,
    SubmissionFact,
    extract,
    homework_tally,
)
from academy.retention.repository import RetentionRepository, RosterRow
from academy.retention.schemas import (
    ACTIVE_WITHIN_DAYS,
    DROPPED_AFTER_DAYS,
    STATUSES,
    EpisodeRead,
    HomeworkCounts,
    Level,
    ModelStatus,
    NudgeCreate,
    NudgeRead,
    Reason,
    RescoreReport,
    RiskModelRead,
    RiskRead,
    RosterQuery,
    StudentDetail,
    StudentRow,
    TrainingReport,
)
from academy.retention.scoring import RULES, ModelScorer, RuleScorer, Scorer, reason_text
from academy.user.service import user_service

log = structlog.get_logger()
_ = i18n.gettext


AT_RISK_KIND = "student_at_risk"
NUDGE_KIND = "nudge"
BATCH = 500
TRACK_LOOKBACK = timedelta(days=30)
TREATMENT, HOLDOUT = "treatment", "holdout"

# Unpickled models by id: rescoring one enrolment per learning event must not unpickle each time.
_model_cache: dict[int, ModelScorer] = {}


def level_for(score: int, threshold: int) -> Level:
    """High at or above the at-risk threshold, medium from half of it, low below."""
    if score >= threshold:
        return "high"
    if score >= threshold / 2:
        return "medium"
    return "low"


def holdout_draw(enrollment_id: int, started_at: datetime, share: float) -> str:
    """The episode's group, drawn once and reproducibly: a rerun of the same rescoring agrees."""
    digest = hashlib.sha256(f"{enrollment_id}:{started_at.isoformat()}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return HOLDOUT if u < share else TREATMENT


def in_quiet_hours(at: datetime, timezone: str, start: int, end: int) -> bool:
    """Whether `at` falls in the quiet hours of the student's own day (start → end may wrap midnight)."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    hour = at.astimezone(zone).hour
    if start == end:
        return False
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def _is_admin(user: User) -> bool:
    return user.role == Role.admin.value


def _risk_read(row: RiskScore, threshold: int) -> RiskRead:
    return RiskRead(
        enrollment_id=row.enrollment_id,
        user_id=row.user_id,
        course_id=row.course_id,
        score=row.score,
        level=level_for(row.score, threshold),
        at_risk=row.at_risk,
        reasons=[Reason.model_validate(r) for r in row.reasons or []],
        scorer=row.scorer,
        computed_at=row.computed_at,
        at_risk_since=row.at_risk_since,
    )


def _nudge_read(row: Nudge, sender: str | None) -> NudgeRead:
    return NudgeRead(
        id=row.id,
        enrollment_id=row.enrollment_id,
        user_id=row.user_id,
        course_id=row.course_id,
        episode_id=row.episode_id,
        mode=row.mode,  # type: ignore[arg-type]
        channel=row.channel,  # type: ignore[arg-type]
        message=row.message,
        sent_by_id=row.sent_by_id,
        sent_by_name=sender,
        sent_at=row.sent_at,
        score=row.score,
        returned_at=row.returned_at,
    )


def _model_read(row: RiskModel) -> RiskModelRead:
    return RiskModelRead(
        id=row.id,
        kind=row.kind,
        features=list(row.features or []),
        n_train=row.n_train,
        n_test=row.n_test,
        auc=row.auc,
        rule_auc=row.rule_auc,
        active=row.active,
        created_at=row.created_at,
        details=dict(row.details or {}),
    )


@dataclass
class _Scored:
    enrollment: Enrollment
    user: User
    features: Features
    score: int
    reasons: list[Reason]


class RetentionService:
    # --- learning history ---

    async def _histories(
        self,
        session: AsyncSession,
        rows: Sequence[tuple[Enrollment, User]],
        *,
        as_of: datetime | None,
        window: bool,
    ) -> dict[int, History]:
        """History of each enrolment, read in one query per kind of fact.

        With `window`, activity is read only for the streak window before `as_of` plus each
        enrolment's latest event, which is all the features at `as_of` can see of it."""
        repo = RetentionRepository(session)
        user_ids = sorted({e.user_id for e, _u in rows})
        course_ids = sorted({e.course_id for e, _u in rows})
        wanted = {(e.user_id, e.course_id) for e, _u in rows}
        lessons = await repo.course_lessons(course_ids)
        completions: dict[tuple[int, int], list[datetime]] = {}
        for u, c, at in await repo.completions(user_ids, course_ids):
            completions.setdefault((u, c), []).append(at)
        activity: dict[tuple[int, int], list[datetime]] = {}
        if window and as_of is not None:
            events = await repo.activity(user_ids, course_ids, since=as_of - STREAK_WINDOW, until=as_of)
            for pair, at in (await repo.last_activity(user_ids, course_ids, until=as_of)).items():
                activity.setdefault(pair, []).append(at)
        else:
            events = await repo.activity(user_ids, course_ids)
        for u, c, at in events:
            activity.setdefault((u, c), []).append(at)
        quizzes: dict[tuple[int, int], list[tuple[datetime, int]]] = {}
        for u, c, at, score in await repo.quiz_scores(user_ids, course_ids):
            quizzes.setdefault((u, c), []).append((at, score))
        assignments = await repo.assignments(course_ids)
        subs: dict[tuple[int, int], list[SubmissionFact]] = {}
        for assignment_id, u, submitted_at, status, reviewed_at, passed in await repo.submissions(
            user_ids, [a.id for a in assignments]
        ):
            final = status == "final"
            subs.setdefault((assignment_id, u), []).append(
                SubmissionFact(
                    submitted_at=submitted_at,
                    status=status,
                    graded_at=(reviewed_at or submitted_at) if final else None,
                    passed=passed if final else None,
                )
            )
        by_course: dict[int, list[Any]] = {}
        for a in assignments:
            by_course.setdefault(a.course_id, []).append(a)
        coach: dict[int, list[tuple[int | None, datetime]]] = {}
        since = as_of - COACH_WINDOW if (window and as_of is not None) else None
        for u, conversation_course, at in await repo.coach_questions(user_ids, since=since):
            coach.setdefault(u, []).append((conversation_course, at))
        out: dict[int, History] = {}
        for enrollment, user in rows:
            pair = (enrollment.user_id, enrollment.course_id)
            if pair not in wanted:
                continue
            out[enrollment.id] = History(
                enrolled_at=enrollment.created_at,
                lessons=[lesson.deadline_days for lesson in lessons.get(enrollment.course_id, [])],
                completions=completions.get(pair, []),
                activity=activity.get(pair, []),
                quiz_scores=quizzes.get(pair, []),
                homework=[
                    HomeworkItem(
                        created_at=a.created_at,
                        due_at=a.due_at,
                        due_days=a.due_days,
                        submissions=subs.get((a.id, enrollment.user_id), []),
                    )
                    for a in by_course.get(enrollment.course_id, [])
                ],
                # Questions asked outside any course count for every course the student takes.
                coach_questions=[
                    at
                    for c, at in coach.get(enrollment.user_id, [])
                    if c is None or c == enrollment.course_id
                ],
                timezone=user.timezone or "UTC",
            )
        return out

    # --- scorer ---

    async def _scorer(self, session: AsyncSession) -> Scorer:
        row = await RetentionRepository(session).active_model()
        if row is None:
            return RuleScorer()
        cached = _model_cache.get(row.id)
        if cached is None:
            # Our own object, written by `train` into our own table: never data from outside.
            model = pickle.loads(row.blob)  # noqa: S301
            cached = _model_cache[row.id] = ModelScorer(model, f"model:{row.id}")
        return cached

    # --- rescoring ---

    async def rescore(
        self,
        session: AsyncSession,
        *,
        course_id: int | None = None,
        enrollment_ids: Sequence[int] | None = None,
        user_id: int | None = None,
    ) -> RescoreReport:
        """Score the enrolments in scope (all by default), open and close at-risk episodes, tell the
        curators about students who just crossed into at risk, and nudge where allowed. Idempotent:
        a second run at the same moment changes nothing."""
        repo = RetentionRepository(session)
        if user_id is not None:
            found = await enrollment_service.find(session, user_id, course_id) if course_id else None
            ids = [found.id] if found else []
        else:
            ids = await repo.enrollment_ids(course_id=course_id, enrollment_ids=enrollment_ids)
        scorer = await self._scorer(session)
        report = RescoreReport(scored=0, crossed=0, nudged=0, held_out=0, scorer=scorer.name)
        for start in range(0, len(ids), BATCH):
            await self._rescore_batch(session, ids[start : start + BATCH], scorer, report)
        log.info(
            "retention.rescored",
            scored=report.scored,
            crossed=report.crossed,
            nudged=report.nudged,
            scorer=report.scorer,
        )
        return report

    async def queue_rescore(self, session: AsyncSession, *, course_id: int | None = None) -> int:
        """Queue one `retention.rescore` job per batch of enrolments (the hourly run): each batch
        commits on its own, so a long run never holds SQLite's write lock for minutes."""
        ids = await RetentionRepository(session).enrollment_ids(course_id=course_id)
        batches = [ids[start : start + BATCH] for start in range(0, len(ids), BATCH)]
        for batch in batches:
            jobs.enqueue(session, "retention.rescore", enrollment_ids=batch)
        return len(batches)

    async def _rescore_batch(
        self, session: AsyncSession, ids: Sequence[int], scorer: Scorer, report: RescoreReport
    ) -> None:
        settings = get_settings()
        repo = RetentionRepository(session)
        now = clock.now()
        rows = await repo.enrollments_with_users(ids)
        open_rows = [(e, u) for e, u in rows if e.completed_at is None]
        histories = await self._histories(session, open_rows, as_of=now, window=True)
        features = [extract(histories[e.id], now) for e, _u in open_rows]
        results = scorer.score(features)
        scored = [
            _Scored(e, u, f, r.score, r.reasons)
            for (e, u), f, r in zip(open_rows, features, results, strict=True)
        ]
        existing = await repo.scores(ids)
        episodes = await repo.open_episodes(ids)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        crossed: list[tuple[_Scored, RiskEpisode]] = []
        pending: list[tuple[_Scored, RiskEpisode]] = []
        for item in scored:
            e = item.enrollment
            dropped = item.features.days_since_activity >= DROPPED_AFTER_DAYS
            at_risk = item.score >= settings.risk_threshold and not dropped
            previous = existing.get(e.id)
            since = (
                (previous.at_risk_since if previous and previous.at_risk and previous.at_risk_since else now)
                if at_risk
                else None
            )
            values = {
                "enrollment_id": e.id,
                "user_id": e.user_id,
                "course_id": e.course_id,
                "score": item.score,
                "at_risk": at_risk,
                "reasons": [r.model_dump() for r in item.reasons],
                "features": item.features.as_dict(),
                "scorer": scorer.name,
                "computed_at": now,
                "at_risk_since": since,
            }
            (updates if previous else inserts).append(values)
            episode = episodes.get(e.id)
            if at_risk and episode is None:
                episode = RiskEpisode(
                    enrollment_id=e.id,
                    user_id=e.user_id,
                    course_id=e.course_id,
                    started_at=now,
                    score=item.score,
                    grp=holdout_draw(e.id, now, settings.nudge_holdout_share),
                )
                crossed.append((item, episode))
                report.crossed += 1
                report.held_out += episode.grp == HOLDOUT
            elif at_risk and episode is not None:
                pending.append((item, episode))
            elif episode is not None:
                episode.ended_at = now
        # Completed enrolments are not at risk, whatever their last score said.
        for e, _u in rows:
            if e.completed_at is None:
                continue
            if e.id in episodes:
                episodes[e.id].ended_at = now
            previous = existing.get(e.id)
            if previous is not None and previous.at_risk:
                updates.append(
                    {"enrollment_id": e.id, "at_risk": False, "at_risk_since": None, "computed_at": now}
                )
        await repo.add_all([episode for _item, episode in crossed])
        await repo.insert_scores(inserts)
        await repo.update_scores(updates, loaded=list(existing.values()))
        report.scored += len(scored)
        if crossed:
            await self._tell_curators(session, [item for item, _ep in crossed])
        if settings.nudge_auto:
            report.nudged += await self._auto_nudges(session, crossed + pending, now)

    async def _tell_curators(self, session: AsyncSession, items: Sequence[_Scored]) -> None:
        repo = RetentionRepository(session)
        course_ids = sorted({i.enrollment.course_id for i in items})
        curators = await repo.curators(course_ids)
        titles = await repo.course_titles(course_ids)
        for item in items:
            for curator_id in curators.get(item.enrollment.course_id, []):
                curator = await user_service.find(session, curator_id)
                if curator is None:
                    continue
                with i18n.use_locale(curator.locale):
                    title = _("%(name)s is at risk (%(score)d)") % {
                        "name": item.user.display_name,
                        "score": item.score,
                    }
                    body = _("%(course)s: %(reasons)s") % {
                        "course": titles.get(item.enrollment.course_id, ""),
                        "reasons": "; ".join(reason_text(r, curator.locale) for r in item.reasons[:3]),
                    }
                # Live in the app only: a crossing is frequent enough that mail would be noise.
                await notification_service.notify(
                    session,
                    curator_id,
                    NotificationPayload(
                        kind=AT_RISK_KIND,
                        title=title[:200],
                        body=body,
                        link=f"/curator/students/{item.enrollment.id}",
                    ),
                    email=False,
                    telegram=False,
                )

    async def _auto_nudges(
        self, session: AsyncSession, candidates: Sequence[tuple[_Scored, RiskEpisode]], now: datetime
    ) -> int:
        settings = get_settings()
        treatment = [(item, ep) for item, ep in candidates if ep.grp == TREATMENT]
        if not treatment:
            return 0
        repo = RetentionRepository(session)
        already = await repo.nudged_episode_ids([ep.id for _i, ep in treatment])
        window_start = now - timedelta(days=settings.nudge_cap_days)
        sent = await repo.nudge_times(sorted({i.user.id for i, _ep in treatment}), window_start)
        nudged = 0
        for item, episode in treatment:
            if episode.id in already:
                continue
            if len(sent.get(item.user.id, [])) >= settings.nudge_cap:
                continue
            if in_quiet_hours(now, item.user.timezone, settings.nudge_quiet_start, settings.nudge_quiet_end):
                # A later rescoring outside the quiet hours sends it (the episode stays un-nudged).
                continue
            await self._send(
                session,
                item.user,
                item.enrollment,
                channel=settings.nudge_channel,
                message=None,
                mode="auto",
                sender=None,
                score=item.score,
                episode_id=episode.id,
                strict=False,
            )
            sent.setdefault(item.user.id, []).append(now)
            nudged += 1
        return nudged

    # --- nudges ---

    async def _default_message(self, session: AsyncSession, student: User, enrollment: Enrollment) -> str:
        read = await enrollment_service.read(session, student, enrollment)
        settings = get_settings()
        with i18n.use_locale(student.locale):
            if read.next_lesson_id is not None:
                return _(
                    "Hi %(name)s! We miss you in “%(course)s”. Your next lesson, “%(lesson)s”, is "
                    "waiting: %(link)s"
                ) % {
                    "name": student.display_name,
                    "course": read.course_title,
                    "lesson": read.next_lesson_title or "",
                    "link": settings.url(f"/lessons/{read.next_lesson_id}"),
                }
            return _(
                "Hi %(name)s! We miss you in “%(course)s”. Come back and pick up where you left off: %(link)s"
            ) % {
                "name": student.display_name,
                "course": read.course_title,
                "link": settings.url(f"/courses/{enrollment.course_id}"),
            }

    async def _send(
        self,
        session: AsyncSession,
        student: User,
        enrollment: Enrollment,
        *,
        channel: str,
        message: str | None,
        mode: str,
        sender: User | None,
        score: int | None,
        episode_id: int | None,
        strict: bool,
    ) -> Nudge:
        """Deliver a nudge and record it. `strict` (a curator's choice) refuses an impossible channel;
        automatic nudges fall back instead."""
        if channel == "auto":
            channel = "telegram" if student.telegram_id is not None else "email"
        if channel == "telegram" and student.telegram_id is None:
            if strict:
                raise Unprocessable("This student has not linked Telegram; choose email or auto")
            channel = "email"
        prefs = {p.kind: p for p in await notification_service.preferences(session, student)}
        pref = prefs.get(NUDGE_KIND)
        if channel == "telegram" and pref is not None and not pref.telegram:
            channel = "in_app"
        if channel == "email" and (
            not student.email
            or student.email_verified_at is None
            or (pref is not None and (not pref.email or pref.digest))
        ):
            channel = "in_app"
        text = message or await self._default_message(session, student, enrollment)
        with i18n.use_locale(student.locale):
            title = _("We miss you in your course")
        await notification_service.notify(
            session,
            student.id,
            NotificationPayload(
                kind=NUDGE_KIND, title=title, body=text, link=f"/courses/{enrollment.course_id}"
            ),
            email=channel == "email",
            telegram=channel == "telegram",
        )
        nudge = Nudge(
            enrollment_id=enrollment.id,
            user_id=student.id,
            course_id=enrollment.course_id,
            episode_id=episode_id,
            mode=mode,
            channel=channel,
            message=text,
            sent_by_id=sender.id if sender else None,
            sent_at=clock.now(),
            score=score,
        )
        await RetentionRepository(session).add(nudge)
        log.info(
            "retention.nudged",
            enrollment_id=enrollment.id,
            user_id=student.id,
            mode=mode,
            channel=channel,
            nudge_id=nudge.id,
        )
        return nudge

    async def _visible_enrollment(
        self, session: AsyncSession, viewer: User, enrollment_id: int
    ) -> tuple[Enrollment, User, str]:
        """The enrolment if the viewer curates its course (admins: any); otherwise 404."""
        found = await RetentionRepository(session).enrollment(enrollment_id)
        if found is None:
            raise NotFound("Student not found")
        enrollment, student, course = found
        if _is_admin(viewer):
            return enrollment, student, course.title
        if viewer.role != Role.curator.value or not await enrollment_service.is_curator(
            session, viewer, enrollment.course_id
        ):
            raise NotFound("Student not found")
        return enrollment, student, course.title

    async def _next_nudge_at(self, session: AsyncSession, user_id: int, now: datetime) -> datetime | None:
        settings = get_settings()
        window = timedelta(days=settings.nudge_cap_days)
        sent = (await RetentionRepository(session).nudge_times([user_id], now - window)).get(user_id, [])
        if len(sent) < settings.nudge_cap:
            return None
        # The oldest nudge that keeps the count at the cap leaves the window first.
        return sent[len(sent) - settings.nudge_cap] + window

    async def nudge(
        self, session: AsyncSession, viewer: User, enrollment_id: int, data: NudgeCreate
    ) -> NudgeRead:
        """A curator's nudge: the cap applies, quiet hours do not (a curator chose the moment)."""
        enrollment, student, _title = await self._visible_enrollment(session, viewer, enrollment_id)
        if enrollment.completed_at is not None:
            raise Unprocessable("This student has completed the course")
        now = clock.now()
        settings = get_settings()
        next_at = await self._next_nudge_at(session, student.id, now)
        if next_at is not None:
            raise NudgeCapReached(settings.nudge_cap, settings.nudge_cap_days, next_at)
        repo = RetentionRepository(session)
        score = await repo.score(enrollment.id)
        episode = (await repo.open_episodes([enrollment.id])).get(enrollment.id)
        nudge = await self._send(
            session,
            student,
            enrollment,
            channel=data.channel,
            message=data.message,
            mode="manual",
            sender=viewer,
            score=score.score if score else None,
            episode_id=episode.id if episode else None,
            strict=True,
        )
        return _nudge_read(nudge, viewer.display_name)

    async def nudges(self, session: AsyncSession, viewer: User, enrollment_id: int) -> list[NudgeRead]:
        await self._visible_enrollment(session, viewer, enrollment_id)
        rows = await RetentionRepository(session).nudges_of(enrollment_id)
        return [_nudge_read(n, name) for n, name in rows]

    # --- returns ---

    async def track_returns(self, session: AsyncSession) -> int:
        """Mark nudges and episodes whose student had activity in the course within 7 days after
        (the nudge was sent / the episode started). Idempotent; returns how many were marked."""
        repo = RetentionRepository(session)
        # Whether a student returned is fixed history, so a run after some downtime still marks what
        # it missed; a month back is plenty and keeps the hourly run small.
        since = clock.now() - TRACK_LOOKBACK
        nudges = await repo.unreturned_nudges(since)
        episodes = await repo.unreturned_episodes(since)
        marked = 0
        found = await repo.first_activity_after([(n.id, n.user_id, n.course_id, n.sent_at) for n in nudges])
        for n in nudges:
            if n.id in found:
                n.returned_at = found[n.id]
                marked += 1
        found = await repo.first_activity_after(
            [(ep.id, ep.user_id, ep.course_id, ep.started_at) for ep in episodes]
        )
        for ep in episodes:
            if ep.id in found:
                ep.returned_at = found[ep.id]
                marked += 1
        if marked:
            log.info("retention.returns_tracked", marked=marked)
        return marked

    # --- the roster ---

    async def _scope(self, session: AsyncSession, viewer: User, course_id: int | None) -> list[int] | None:
        """Course ids the viewer may see (None: every course). An explicit course outside it is 403."""
        if _is_admin(viewer):
            return [course_id] if course_id is not None else None
        if viewer.role != Role.curator.value:
            raise Forbidden("Only curators and admins see the roster")
        curated = await enrollment_service.curated_course_ids(session, viewer)
        if course_id is not None:
            if course_id not in curated:
                raise Forbidden("You do not curate this course")
            return [course_id]
        return sorted(curated)

    def _windows(self, now: datetime) -> dict[str, Any]:
        return {
            "active_since": now - timedelta(days=ACTIVE_WITHIN_DAYS),
            "dropped_before": now - timedelta(days=DROPPED_AFTER_DAYS),
            "threshold": get_settings().risk_threshold,
        }

    async def roster(
        self, session: AsyncSession, viewer: User, query: RosterQuery, params: PageParams
    ) -> Page[StudentRow]:
        scope = await self._scope(session, viewer, query.course_id)
        if scope == []:
            return Page(items=[], total=0, page=params.page, size=params.size)
        now = clock.now()
        rows, total = await RetentionRepository(session).roster(
            course_ids=scope,
            q=query.q,
            status=query.status,
            sort=query.sort,
            order=query.order,
            offset=params.offset,
            limit=params.size,
            **self._windows(now),
        )
        items = await self._rows(session, rows, now)
        return Page(items=items, total=total, page=params.page, size=params.size)

    async def _rows(
        self,
        session: AsyncSession,
        rows: Sequence[RosterRow],
        now: datetime,
    ) -> list[StudentRow]:
        """Roster rows for one page: a few batched lookups for just these enrolments."""
        if not rows:
            return []
        repo = RetentionRepository(session)
        user_ids = sorted({e.user_id for e, *_rest in rows})
        course_ids = sorted({e.course_id for e, *_rest in rows})
        lessons = await repo.course_lessons(course_ids)
        done: dict[tuple[int, int], int] = {}
        for u, c, _at in await repo.completions(user_ids, course_ids):
            done[(u, c)] = done.get((u, c), 0) + 1
        assignments = await repo.assignments(course_ids)
        subs: dict[tuple[int, int], list[SubmissionFact]] = {}
        for assignment_id, u, submitted_at, status, reviewed_at, passed in await repo.submissions(
            user_ids, [a.id for a in assignments]
        ):
            final = status == "final"
            subs.setdefault((assignment_id, u), []).append(
                SubmissionFact(submitted_at, status, (reviewed_at or submitted_at) if final else None, passed)
            )
        nudged = await repo.last_nudges([e.id for e, *_rest in rows])
        threshold = get_settings().risk_threshold
        items = []
        for enrollment, user, course_title, risk, status in rows:
            pair = (enrollment.user_id, enrollment.course_id)
            total = len(lessons.get(enrollment.course_id, []))
            lessons_done = min(total, done.get(pair, 0))
            tally = homework_tally(
                [
                    HomeworkItem(a.created_at, a.due_at, a.due_days, subs.get((a.id, enrollment.user_id), []))
                    for a in assignments
                    if a.course_id == enrollment.course_id
                ],
                enrollment.created_at,
                now,
            )
            items.append(
                StudentRow(
                    enrollment_id=enrollment.id,
                    user_id=user.id,
                    name=user.display_name,
                    email=user.email,
                    course_id=enrollment.course_id,
                    course_title=course_title,
                    enrolled_at=enrollment.created_at,
                    lessons_done=lessons_done,
                    lessons_total=total,
                    progress_pct=int(100 * lessons_done / total) if total else 0,
                    last_activity_at=enrollment.last_activity_at,
                    status=status,  # type: ignore[arg-type]
                    risk=_risk_read(risk, threshold) if risk is not None else None,
                    homework=HomeworkCounts(
                        assigned=tally.assigned,
                        submitted=tally.submitted,
                        awaiting_review=tally.awaiting_review,
                        overdue=tally.overdue,
                        failed=tally.failed,
                    ),
                    last_nudge_at=nudged.get(enrollment.id),
                )
            )
        return items

    async def counts(
        self, session: AsyncSession, viewer: User, course_id: int | None = None
    ) -> dict[str, int]:
        """Students per roster status (every status present, zeros included) plus "all"."""
        scope = await self._scope(session, viewer, course_id)
        found = (
            {}
            if scope == []
            else await RetentionRepository(session).roster_counts(
                course_ids=scope, **self._windows(clock.now())
            )
        )
        out: dict[str, int] = {status: found.get(status, 0) for status in STATUSES}
        return {"all": sum(out.values()), **out}

    async def student(self, session: AsyncSession, viewer: User, enrollment_id: int) -> StudentDetail:
        enrollment, _student, _title = await self._visible_enrollment(session, viewer, enrollment_id)
        repo = RetentionRepository(session)
        now = clock.now()
        found = await repo.roster_row(enrollment.id, **self._windows(now))
        if found is None:
            raise NotFound("Student not found")
        row = (await self._rows(session, [found], now))[0]
        score = found[3]
        nudges = [_nudge_read(n, name) for n, name in await repo.nudges_of(enrollment.id)]
        episodes = [
            EpisodeRead(
                id=ep.id,
                started_at=ep.started_at,
                ended_at=ep.ended_at,
                score=ep.score,
                grp=ep.grp,  # type: ignore[arg-type]
                returned_at=ep.returned_at,
            )
            for ep in await repo.episodes_of(enrollment.id)
        ]
        features = dict(score.features) if score is not None else {}
        return StudentDetail(
            row=row,
            features={k: features[k] for k in FEATURES if k in features},
            nudges=nudges,
            episodes=episodes,
            next_nudge_at=await self._next_nudge_at(session, enrollment.user_id, now),
        )

    # --- the model ---

    async def train(self, session: AsyncSession) -> TrainingReport:
        """Fit a model on finished enrolments; activate it only if it beats the rules on held-out
        enrolments (the previous active model is then retired)."""
        repo = RetentionRepository(session)
        now = clock.now()
        quiet_before = now - timedelta(days=DROPPED_AFTER_DAYS)
        candidates = await repo.finished_candidates(quiet_before)
        samples: list[training.Sample] = []
        rules = RuleScorer()
        for start in range(0, len(candidates), BATCH):
            batch = candidates[start : start + BATCH]
            histories = await self._histories(session, batch, as_of=None, window=False)
            for enrollment, _user in batch:
                history = histories[enrollment.id]
                if enrollment.completed_at is not None:
                    label, outcome_at = 0, enrollment.completed_at
                else:
                    last = max(history.activity, default=enrollment.created_at)
                    label, outcome_at = 1, last + timedelta(days=DROPPED_AFTER_DAYS)
                moments = training.cutoffs(enrollment.created_at, outcome_at)
                feats = [extract(history, at) for at in moments]
                for f, result in zip(feats, rules.score(feats), strict=True):
                    samples.append(training.Sample(enrollment.id, label, f.vector(), result.score))
        try:
            fitted = training.fit(samples)
        except training.NotEnoughData as exc:
            log.info("retention.training_refused", reason=str(exc))
            return TrainingReport(
                trained=False, reason=str(exc), n_train=0, n_test=0, auc=None, rule_auc=None, active=False
            )
        wins = fitted.auc > fitted.rule_auc
        if wins:
            await repo.deactivate_models()
        row = RiskModel(
            kind=training.KIND,
            features=list(FEATURES),
            n_train=fitted.n_train,
            n_test=fitted.n_test,
            auc=fitted.auc,
            rule_auc=fitted.rule_auc,
            active=wins,
            blob=pickle.dumps(fitted.model),
            details=fitted.details,
            created_at=now,
        )
        await repo.add(row)
        log.info("retention.model_trained", model_id=row.id, auc=row.auc, rule_auc=row.rule_auc, active=wins)
        return TrainingReport(
            trained=True,
            reason=None
            if wins
            else (
                f"The model (AUC {fitted.auc:.3f}) did not beat the rules (AUC {fitted.rule_auc:.3f}) "
                "on held-out enrolments; scoring stays on the rules"
            ),
            n_train=fitted.n_train,
            n_test=fitted.n_test,
            auc=fitted.auc,
            rule_auc=fitted.rule_auc,
            active=wins,
            model_id=row.id,
        )

    async def model_status(self, session: AsyncSession) -> ModelStatus:
        repo = RetentionRepository(session)
        models = await repo.models()
        active = await repo.active_model()
        scored, at_risk, last = await repo.score_summary(get_settings().risk_threshold)
        return ModelStatus(
            scorer=f"model:{active.id}" if active else RULES,
            active=_model_read(active) if active else None,
            models=[_model_read(m) for m in models],
            scored=scored,
            at_risk=at_risk,
            last_computed_at=last,
        )


retention_service = RetentionService()
