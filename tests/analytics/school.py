"""A small school with a known history, built through the real services on backdated clocks.

Two courses over three weeks of March 2026 (Monday 2 March is the first day). Every action happens
at 10:00 UTC on its day unless noted, so each test can work its expected figures out by hand:

course A (3 lessons, curated by `curator_a`)        course B (2 lessons)
  s1  enrols Mon 03-02, lesson 1 on 03-03,            s5  enrols Mon 03-02, lesson 1 on 03-05
      lesson 2 on 03-10, lesson 3 on 03-11            s6  enrols Tue 03-10, lesson 1 on 03-12
      (course completed 03-11)                        s1  enrols Thu 03-12
  s2  enrols Tue 03-03, lesson 1 on 03-04,
      lesson 2 on 03-18
  s3  enrols Wed 03-04, nothing else
  s4  enrols Mon 03-09, lesson 1 on 03-17

Risk episodes and nudges are stored as rows (`retention_risk_episodes`, `retention_nudges`): opening
an episode at a chosen moment through risk scoring would test the scorer, not the metrics.

  e1 s1 A treatment 03-04, nudged 03-04 12:00 -> s1 active 03-10 (6 days): returned
  e2 s2 A treatment 03-05, nudged 03-05 12:00 -> s2 next active 03-18 (13 days): not returned
  e3 s3 A treatment 03-06, never nudged       -> not in the nudge return rate
  e4 s5 B holdout   03-03                      -> s5 active 03-05: returned
  e5 s4 A holdout   03-09 12:00               -> s4 next active 03-17 10:00 (7.9 days): not returned
  e6 s6 B holdout   03-11                      -> s6 active 03-12: returned
  e7 s2 A treatment 03-20, nudged 03-20        -> after every range the tests ask about

Homework (course A: a text assignment on lesson 1, two criteria of 5 points, pre-graded by the
embedded grader; course B: a quiz assignment on lesson 1, which scores itself):
  s1 submits 03-03 12:00, curator confirms the AI proposal 03-10 12:00   -> 168 h, confirmed
  s2 submits 03-04 12:00, curator changes one criterion by 1 point 03-04 18:00 -> 6 h, overridden
  s3 submits 03-04 13:00, never reviewed
  s5 takes the quiz 03-05 12:00                                           -> final at once ("auto")
Each lands on a day its student is active in that course anyway, so the activity figures above hold.

Coach questions (the embedded grounded answerer; response times fixed afterwards, in ms):
  s1 A 03-03 "What is the spread?"   answer,  100        s5 B 03-05 "What is the spread?" answer, 500
  s2 A 03-04 "What is the spread?"   answer,  300        s1 A 03-20 "What is the spread?" answer, 700
  s3 A 03-05 sourdough bread         refusal, 200
  s2 A 03-06 Ichimoku cloud          escalated (uncovered), 400
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from academy.coach.schemas import MessageCreate
from academy.coach.service import coach_service
from academy.enrollment.service import enrollment_service
from academy.homework.schemas import AssignmentCreate, Criterion, ReviewCreate, ScoreEdit
from academy.homework.service import homework_service
from academy.kit import clock
from academy.kit.uow import UnitOfWork
from academy.models import CoachMessage, Nudge, RiskEpisode, Role, Submission, User
from tests.fixtures.app import make_user
from tests.fixtures.learning import CourseRef, complete, enroll, make_course, right_answers


def at(month_day: str, hour: int = 10, minute: int = 0) -> datetime:
    """'03-04' -> 2026-03-04 10:00 UTC."""
    month, day = (int(part) for part in month_day.split("-"))
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class School:
    a: CourseRef
    b: CourseRef
    admin: User
    curator_a: User
    student_viewer: User
    s: dict[int, User]
    enrollments: dict[tuple[int, str], int] = field(default_factory=dict)  # (student, course) -> id


async def _enroll(school: School, n: int, course: str, when: datetime) -> None:
    ref = school.a if course == "A" else school.b
    with clock.frozen(when):
        school.enrollments[(n, course)] = await enroll(school.s[n], ref.id)


async def _complete(school: School, n: int, course: str, lesson: int, when: datetime) -> None:
    ref = school.a if course == "A" else school.b
    with clock.frozen(when):
        await complete(school.s[n], ref.lessons[lesson])


async def _episode(
    school: School, n: int, course: str, started: datetime, grp: str, nudged: datetime | None = None
) -> None:
    ref = school.a if course == "A" else school.b
    enrollment_id = school.enrollments[(n, course)]
    async with UnitOfWork() as uow:
        episode = RiskEpisode(
            enrollment_id=enrollment_id,
            user_id=school.s[n].id,
            course_id=ref.id,
            started_at=started,
            score=75,
            grp=grp,
        )
        uow.session.add(episode)
        await uow.session.flush()
        if nudged is not None:
            uow.session.add(
                Nudge(
                    enrollment_id=enrollment_id,
                    user_id=school.s[n].id,
                    course_id=ref.id,
                    episode_id=episode.id,
                    mode="auto",
                    channel="email",
                    message="We miss you",
                    sent_at=nudged,
                    score=75,
                )
            )


async def ask_coach(user: User, text: str, course_id: int, when: datetime, latency_ms: int) -> CoachMessage:
    with clock.frozen(when):
        async with UnitOfWork() as uow:
            prepared = await coach_service.start(
                uow.session, user, MessageCreate(text=text, course_id=course_id)
            )
        events = [event async for event in coach_service.answer(prepared)]
    message_id = events[-1].data["message"]["id"]
    # The coach measures its real elapsed time; fix it so the percentiles are known.
    async with UnitOfWork() as uow:
        await uow.session.execute(
            update(CoachMessage).where(CoachMessage.id == message_id).values(latency_ms=latency_ms)
        )
        message = await uow.session.get(CoachMessage, message_id)
        assert message is not None
        return message


async def _homework(school: School) -> None:
    rubric = [
        Criterion(key="risk", title="Risk", points=5, concepts=["stop loss"]),
        Criterion(key="reward", title="Reward", points=5, concepts=["target"]),
    ]
    async with UnitOfWork() as uow:
        text = await homework_service.create_assignment(
            uow.session,
            school.curator_a,
            AssignmentCreate(lesson_id=school.a.lessons[0], title="Plan a trade", kind="text", rubric=rubric),
        )
        quiz = await homework_service.create_assignment(
            uow.session,
            school.admin,
            AssignmentCreate(
                lesson_id=school.b.lessons[0], title="Check", kind="quiz", quiz_id=school.b.quiz(0).id
            ),
        )
    answer = "I place a stop loss under the low and a target at twice the risk."
    submitted = {}
    for n, when in ((1, at("03-03", 12)), (2, at("03-04", 12)), (3, at("03-04", 13))):
        with clock.frozen(when):
            async with UnitOfWork() as uow:
                row = await homework_service.submit(uow.session, school.s[n], text.id, text=answer)
        submitted[n] = row.id
    with clock.frozen(at("03-05", 12)):
        async with UnitOfWork() as uow:
            await homework_service.submit(
                uow.session, school.s[5], quiz.id, answers=right_answers(school.b.quiz(0))
            )
    with clock.frozen(at("03-10", 12)):
        async with UnitOfWork() as uow:
            await homework_service.review(uow.session, school.curator_a, submitted[1], ReviewCreate())
    async with UnitOfWork() as uow:
        proposal = await uow.session.get(Submission, submitted[2])
        assert proposal is not None and proposal.ai_scores, "the embedded grader proposed no scores"
        ai = {str(s["key"]): float(s["points"]) for s in proposal.ai_scores}
    risk = ai["risk"]
    # One point away from the AI on one criterion, within 0..5: the override the agreement sees.
    changed = risk + 1 if risk + 1 <= 5 else risk - 1
    with clock.frozen(at("03-04", 18)):
        async with UnitOfWork() as uow:
            await homework_service.review(
                uow.session,
                school.curator_a,
                submitted[2],
                ReviewCreate(
                    scores=[
                        ScoreEdit(key="risk", points=changed),
                        ScoreEdit(key="reward", points=ai["reward"]),
                    ]
                ),
            )


async def build_school(root: Path) -> School:
    a = await make_course(root / "a", slug="course-a", title="Course A", lessons=3, quiz=False)
    b = await make_course(root / "b", slug="course-b", title="Course B", lessons=2, quiz=[0])
    admin = await make_user(role=Role.admin)
    curator_a = await make_user(role=Role.curator)
    async with UnitOfWork() as uow:
        await enrollment_service.assign_curator(uow.session, curator_a, a.id)
    students = {n: await make_user(role=Role.student) for n in range(1, 7)}
    school = School(a=a, b=b, admin=admin, curator_a=curator_a, student_viewer=students[1], s=students)

    await _enroll(school, 1, "A", at("03-02"))
    await _enroll(school, 5, "B", at("03-02"))
    await _enroll(school, 2, "A", at("03-03"))
    await _complete(school, 1, "A", 0, at("03-03"))
    await _enroll(school, 3, "A", at("03-04"))
    await _complete(school, 2, "A", 0, at("03-04"))
    await _complete(school, 5, "B", 0, at("03-05"))
    await _enroll(school, 4, "A", at("03-09"))
    await _complete(school, 1, "A", 1, at("03-10"))
    await _enroll(school, 6, "B", at("03-10"))
    await _complete(school, 1, "A", 2, at("03-11"))
    await _enroll(school, 1, "B", at("03-12"))
    await _complete(school, 6, "B", 0, at("03-12"))
    await _complete(school, 4, "A", 0, at("03-17"))
    await _complete(school, 2, "A", 1, at("03-18"))

    await _episode(school, 1, "A", at("03-04"), "treatment", nudged=at("03-04", 12))
    await _episode(school, 2, "A", at("03-05"), "treatment", nudged=at("03-05", 12))
    await _episode(school, 3, "A", at("03-06"), "treatment")
    await _episode(school, 5, "B", at("03-03"), "holdout")
    await _episode(school, 4, "A", at("03-09", 12), "holdout")
    await _episode(school, 6, "B", at("03-11"), "holdout")
    await _episode(school, 2, "A", at("03-20"), "treatment", nudged=at("03-20", 12))

    await _homework(school)

    spread = "What is the spread?"
    await ask_coach(students[1], spread, a.id, at("03-03", 11), 100)
    await ask_coach(students[2], spread, a.id, at("03-04", 11), 300)
    await ask_coach(students[3], "What is a good recipe for sourdough bread?", a.id, at("03-05", 11), 200)
    await ask_coach(
        students[2], "How do I trade the Ichimoku cloud and the kumo twist?", a.id, at("03-06", 11), 400
    )
    await ask_coach(students[5], spread, b.id, at("03-05", 11), 500)
    await ask_coach(students[1], spread, a.id, at("03-20", 11), 700)
    return school
