"""What a backtest run is asked with and what it answers. Costs and sizing are percents here (the
engine takes fractions); the service converts."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from academy.kit.schemas import Id
from academy.trading.backtest.optimize import METRICS
from academy.trading.market_data.timeframes import TIMEFRAMES
from academy.trading.rules import MAX_LENGTH as MAX_RULE_LENGTH
from academy.trading.strategy.base import Param, Strategy
from academy.trading.strategy.build import RULE, STRATEGIES
from academy.trading.strategy.ml import MLStrategy
from academy.trading.strategy.presets import PRESETS

STATUSES = ("queued", "running", "done", "failed")
KINDS = ("single", "grid")
# The ML strategy trains a model per walk-forward window; a grid would train one per window per
# combination, far beyond what a run may cost, so grid search is for the presets.
GRID_STRATEGIES = tuple(sorted(PRESETS))
MAX_GRID_VALUES = 50
MAX_COMBINATIONS = 400
MAX_FOLDS = 10

Number = Annotated[float, Field(allow_inf_nan=False)]


def strategy_params(name: str) -> dict[str, Param]:
    """The parameters a strategy takes (a rule takes none)."""
    classes: dict[str, type[Strategy]] = {**PRESETS, MLStrategy.name: MLStrategy}
    return dict(classes[name].params) if name in classes else {}


def is_whole(spec: Param) -> bool:
    return isinstance(spec.default, int) and not isinstance(spec.default, bool)


class ParamRange(BaseModel):
    """Values start, start + step, … up to stop (inclusive)."""

    start: Number
    stop: Number
    step: Annotated[float, Field(gt=0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> ParamRange:
        if self.stop < self.start:
            raise ValueError("stop must not be below start")
        span = (self.stop - self.start) / self.step
        # An absurd step or span overflows; both mean more values than a range may give.
        if not math.isfinite(span) or span + 1 > MAX_GRID_VALUES + 1e-9:
            raise ValueError(f"a range gives at most {MAX_GRID_VALUES} values; use a larger step")
        return self

    def count(self) -> int:
        # The small tolerance keeps 0.1-steps from losing the last value to float error.
        return math.floor((self.stop - self.start) / self.step + 1e-9) + 1

    def values(self, whole: bool) -> list[float | int]:
        values = [round(self.start + i * self.step, 10) for i in range(self.count())]
        return [int(v) for v in values] if whole else values


class BacktestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=120)] = ""
    kind: Literal["single", "grid"] = "single"
    instrument_id: Id
    timeframe: str
    strategy: str
    params: dict[str, Number] = Field(default_factory=dict)
    rule: Annotated[str, Field(max_length=MAX_RULE_LENGTH)] | None = None
    commission_pct: Annotated[float, Field(ge=0, lt=10, allow_inf_nan=False)] = 0.0
    slippage_pct: Annotated[float, Field(ge=0, lt=10, allow_inf_nan=False)] = 0.0
    # Sizing: fixed units, or the percent of equity lost at the stop; neither: all equity.
    size: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    risk_pct: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)] | None = None
    cash: Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)] = 10_000.0
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    # Grid search only.
    ranges: dict[str, ParamRange] = Field(default_factory=dict)
    folds: Annotated[int, Field(ge=1, le=MAX_FOLDS)] = 4
    metric: str = "sharpe"
    anchored: bool = True

    @field_validator("timeframe")
    @classmethod
    def _known_timeframe(cls, value: str) -> str:
        if value not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {value!r}; known: {', '.join(TIMEFRAMES)}")
        return value

    @field_validator("start", "end")
    @classmethod
    def _plausible_date(cls, value: datetime | None) -> datetime | None:
        if value is not None and not 1900 <= value.year <= 2200:
            raise ValueError("dates must lie between the years 1900 and 2200")
        return value

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; known: {', '.join(STRATEGIES)}")
        return value

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(METRICS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BacktestCreate:
        if self.size is not None and self.risk_pct is not None:
            raise ValueError("give either a fixed size or a risk percent, not both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the end of the date range must be after its start")
        if self.strategy == RULE:
            if not self.rule or not self.rule.strip():
                raise ValueError("write the rule, e.g. enter long when close crosses_above sma(50)")
            if self.params:
                raise ValueError("a rule carries its own numbers; it takes no parameters")
        elif self.rule:
            raise ValueError("a rule is only read when the strategy is 'rule'")
        accepted = strategy_params(self.strategy)
        unknown = sorted((set(self.params) | set(self.ranges)) - set(accepted))
        if unknown:
            raise ValueError(
                f"{self.strategy} has no parameter {', '.join(unknown)}; it takes {', '.join(accepted)}"
            )
        if self.kind == "single":
            if self.ranges:
                raise ValueError("parameter ranges are for a grid search (kind 'grid')")
            return self
        if self.strategy not in GRID_STRATEGIES:
            raise ValueError(f"grid search takes a preset: {', '.join(GRID_STRATEGIES)}")
        if not self.ranges:
            raise ValueError("a grid search needs a range for at least one parameter")
        both = sorted(set(self.params) & set(self.ranges))
        if both:
            raise ValueError(f"{', '.join(both)} has both a fixed value and a range")
        for name, spec in self.ranges.items():
            bounds = accepted[name]
            if is_whole(bounds) and (spec.start != int(spec.start) or spec.step != int(spec.step)):
                raise ValueError(f"{name} takes whole numbers: use a whole start and step")
            values = spec.values(is_whole(bounds))
            low, high = bounds.minimum, bounds.maximum
            if (low is not None and values[0] < low) or (high is not None and values[-1] > high):
                raise ValueError(f"{name} must stay between {low} and {high}")
        if self.combinations() > MAX_COMBINATIONS:
            raise ValueError(
                f"the grid has {self.combinations():,} combinations; at most {MAX_COMBINATIONS} per run"
            )
        return self

    def combinations(self) -> int:
        return math.prod(r.count() for r in self.ranges.values()) if self.ranges else 1

    def grid(self) -> dict[str, list[float | int]]:
        accepted = strategy_params(self.strategy)
        return {name: r.values(is_whole(accepted[name])) for name, r in self.ranges.items()}


class InstrumentBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    symbol: str
    venue: str
    simulated: bool


class BacktestSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    name: str
    kind: str
    instrument: InstrumentBrief | None
    timeframe: str
    strategy: str
    status: str
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    # Headline figures of a finished run (out of sample for a grid), for lists and comparisons.
    headline: dict[str, float | int | None] = Field(default_factory=dict)


class BacktestRead(BacktestSummary):
    params: dict[str, Any]
    rule: str | None
    settings: dict[str, Any]
    result: dict[str, Any] | None
