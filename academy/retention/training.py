"""Fitting a dropout model on the school's own finished enrolments (pure: rows in, a fitted model out).

Each finished enrolment gives several rows: its features at cutoffs inside the enrolment (day 7,
14, 21, … after enrolling) taken while the outcome was still unknown, i.e. before it completed, or
before it became "dropped" (21 days after the last activity). Features are point-in-time
(features.extract), so a row only knows what was known at its cutoff.

The held-out split is by enrolment, never by row: rows of one student on both sides would let the
model recognise the student instead of the pattern. The model is a small gradient-boosted tree
ensemble, calibrated with Platt scaling on folds that are also grouped by enrolment; its AUC and the
rule scorer's are measured on the same held-out rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

MIN_FINISHED = 40
MIN_PER_CLASS = 8
TEST_SHARE = 0.25
CALIBRATION_FOLDS = 3
CUTOFF_STEP_DAYS = 7
MAX_CUTOFFS = 12
SEED = 20261122
KIND = "hgb-calibrated"


@dataclass(frozen=True)
class Sample:
    enrollment_id: int
    label: int  # 1 dropped, 0 completed
    vector: list[float]
    rule_score: int


@dataclass(frozen=True)
class Fitted:
    model: Any
    n_train: int
    n_test: int
    auc: float
    rule_auc: float
    details: dict[str, Any]


class NotEnoughData(Exception):
    pass


def cutoffs(enrolled_at: datetime, outcome_at: datetime) -> list[datetime]:
    """Moments inside the enrolment, before its outcome was known: every 7 days; a short enrolment
    that ends before day 7 gets one cutoff half-way through."""
    moments: list[datetime] = []
    day = CUTOFF_STEP_DAYS
    while enrolled_at + timedelta(days=day) < outcome_at and len(moments) < MAX_CUTOFFS:
        moments.append(enrolled_at + timedelta(days=day))
        day += CUTOFF_STEP_DAYS
    if not moments and outcome_at - enrolled_at >= timedelta(days=2):
        moments.append(enrolled_at + (outcome_at - enrolled_at) / 2)
    return moments


def check_enough(labels: dict[int, int]) -> str | None:
    """Why there is too little to train on, or None."""
    dropped = sum(1 for v in labels.values() if v == 1)
    completed = len(labels) - dropped
    if len(labels) < MIN_FINISHED:
        return (
            f"Not enough finished enrolments to train on: {len(labels)} "
            f"(need at least {MIN_FINISHED}: {completed} completed, {dropped} dropped)"
        )
    if dropped < MIN_PER_CLASS or completed < MIN_PER_CLASS:
        return (
            f"Need at least {MIN_PER_CLASS} completed and {MIN_PER_CLASS} dropped enrolments; "
            f"have {completed} completed and {dropped} dropped"
        )
    return None


def fit(samples: Sequence[Sample]) -> Fitted:
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold, train_test_split

    labels = {s.enrollment_id: s.label for s in samples}
    problem = check_enough(labels)
    if problem:
        raise NotEnoughData(problem)
    ids = sorted(labels)
    train_ids, test_ids = train_test_split(
        ids, test_size=TEST_SHARE, stratify=[labels[i] for i in ids], random_state=SEED
    )
    test_set = set(test_ids)
    train = [s for s in samples if s.enrollment_id not in test_set]
    test = [s for s in samples if s.enrollment_id in test_set]
    x_train = np.array([s.vector for s in train], dtype=float)
    y_train = np.array([s.label for s in train])
    groups = np.array([s.enrollment_id for s in train])
    folds = list(
        StratifiedGroupKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=SEED).split(
            x_train, y_train, groups
        )
    )
    base = HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.05,
        max_depth=3,
        min_samples_leaf=5,
        l2_regularization=1.0,
        random_state=SEED,
    )
    model = CalibratedClassifierCV(base, method="sigmoid", cv=folds).fit(x_train, y_train)
    x_test = np.array([s.vector for s in test], dtype=float)
    y_test = np.array([s.label for s in test])
    probabilities = model.predict_proba(x_test)[:, 1]
    auc = float(roc_auc_score(y_test, probabilities))
    rule_auc = float(roc_auc_score(y_test, [s.rule_score for s in test]))
    return Fitted(
        model=model,
        n_train=len(train),
        n_test=len(test),
        auc=round(auc, 4) if not math.isnan(auc) else 0.0,
        rule_auc=round(rule_auc, 4) if not math.isnan(rule_auc) else 0.0,
        details={
            "enrollments_train": len(train_ids),
            "enrollments_test": len(test_ids),
            "dropped": sum(labels.values()),
            "completed": len(labels) - sum(labels.values()),
            "test_positive_rows": int(y_test.sum()),
            "seed": SEED,
            "model": KIND,
        },
    )
