"""The coach's demo history: students asking Alex over the last weeks through the real service, some
questions escalated, curators answering them (one published to the FAQ), feedback on answers. So
the chat history, the curators' queue and the stats page open on real data."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Literal

from academy.coach.schemas import EscalationAnswer, FeedbackCreate, MessageCreate
from academy.coach.service import coach_service
from academy.course.service import course_service
from academy.kit import clock
from academy.kit.pagination import PageParams
from academy.kit.uow import UnitOfWork
from academy.models import Role, User
from academy.user.service import user_service

SEED = 7
COURSE_SLUG = "trading-foundations"

# How beginners really ask: typos, shorthand, Russian. Most are covered by the course.
QUESTIONS = (
    "what is a candlestick and what do the wicks mean?",
    "why do i need a stop los on every trade?",
    "how do i calculate position size with 1% risk",
    "whats the difference between a limit order and a market order",
    "what does RSI above 70 mean",
    "is it bad to move my stop further away when price comes close?",
    "how do I know if a market is trending or ranging",
    "what is a good risk reward ratio",
    "что такое спред и почему он важен?",
    "how much leverage should a beginner use",
    "what is a drawdown",
    "why should I keep a trading journal",
    "what timeframe should i start with as a beginer",
    "how does support turn into resistance",
    "what is slippage",
    "MACD crossing the signal line, what does it tell me",
    "can a strategy with 40% win rate make money?",
    "how to avoid revenge trading after a loss",
    "как рассчитать размер позиции?",
    "what is backtesting and why is it not a guarantee",
)
# Questions the course does not answer: they go to the curators.
UNCOVERED = (
    "How do I trade the Ichimoku cloud and the kumo twist?",
    "Can I connect this platform to MetaTrader 5 for automatic trading?",
    "how do options greeks like delta and theta work?",
    "How do I trade Elliott waves, which wave is the best entry?",
)
PUBLISHED_ANSWER = (
    "Ichimoku is not part of this course yet. In short: the cloud (kumo) is the area between two "
    "averages of past highs and lows, and a kumo twist is where those two lines cross, which some "
    "traders read as a possible change of trend. Treat it like any indicator from module 4: write a "
    "rule, backtest it in the lab, and never skip the stop."
)
PRIVATE_ANSWER = (
    "Not yet: the lab runs paper trading and signals here. Broker connections come later; for now, "
    "test your rules in the backtester first."
)


async def load_coach(now: datetime | None = None) -> bool:
    """Idempotent: does nothing once the demo student has talked to the coach."""
    now = now or clock.now()
    async with UnitOfWork() as uow:
        course = await course_service.by_slug(uow.session, COURSE_SLUG)
        students = (
            await user_service.search(uow.session, PageParams(page=1, size=16), role=Role.student)
        ).items
        curators = (
            await user_service.search(uow.session, PageParams(page=1, size=1), role=Role.curator)
        ).items
        if course is None or not students or not curators:
            return False
        askers = [await user_service.get(uow.session, s.id) for s in students]
        curator = await user_service.get(uow.session, curators[0].id)
        if (await coach_service.conversations(uow.session, askers[0], PageParams(page=1, size=1))).total:
            return False
        course_id = course.id
        for user in [*askers, curator]:
            uow.session.expunge(user)

    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    escalations: list[tuple[int, str, datetime]] = []
    for number, question in enumerate((*QUESTIONS, *UNCOVERED)):
        asker = askers[number % len(askers)]
        at = now - timedelta(days=rng.randint(1, 27), hours=rng.randint(0, 20), minutes=rng.randint(0, 59))
        message_id, escalation_id = await _ask(asker, question, course_id, at)
        if escalation_id is not None:
            escalations.append((escalation_id, question, at))
        elif message_id is not None and rng.random() < 0.5:
            value: Literal[1, -1] = 1 if rng.random() < 0.85 else -1
            with clock.frozen(at + timedelta(minutes=2)):
                async with UnitOfWork() as uow:
                    await coach_service.feedback(uow.session, asker, message_id, FeedbackCreate(value=value))
        if number == 0:
            # The demo student also asked for a human once, after an answer.
            with clock.frozen(at + timedelta(minutes=5)):
                async with UnitOfWork() as uow:
                    latest = await coach_service.conversations(uow.session, asker, PageParams(page=1, size=1))
                    await coach_service.ask_human(uow.session, asker, latest.items[0].id)
    # Curators answered two of the escalated questions (one published); the rest wait in the queue.
    for escalation_id, question, at in escalations:
        if "Ichimoku" in question or "MetaTrader" in question:
            publish = "Ichimoku" in question
            answer = EscalationAnswer(
                answer=PUBLISHED_ANSWER if publish else PRIVATE_ANSWER,
                publish=publish,
                faq_question="What is the Ichimoku cloud and a kumo twist?" if publish else None,
            )
            with clock.frozen(at + timedelta(hours=3)):
                async with UnitOfWork() as uow:
                    await coach_service.answer_escalation(uow.session, curator, escalation_id, answer)
    return True


async def _ask(user: User, question: str, course_id: int, at: datetime) -> tuple[int | None, int | None]:
    """Ask through the service as the chat does: store the question, then stream and store the answer."""
    with clock.frozen(at):
        async with UnitOfWork() as uow:
            prepared = await coach_service.start(
                uow.session, user, MessageCreate(text=question, course_id=course_id)
            )
        message_id = escalation_id = None
        async for event in coach_service.answer(prepared):
            if event.kind == "done":
                message_id = event.data["message"]["id"]
                escalation_id = event.data["escalation_id"]
    return message_id, escalation_id
