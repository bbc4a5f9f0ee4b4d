"""The embedded market simulator: believable OHLCV paths for offline demos, labelled simulated.

Bar k of a market opens at EPOCH + k × timeframe, and its values are a pure function of (seed, symbol,
timeframe, k). The path is generated in blocks of BLOCK bars; each block draws from its own random
stream and continues from the state the previous block ended in, so a bar never changes once it
exists and asking again for the same "now" returns the same bars. Block start states are memoized,
so extending a path costs only the new blocks.

The model, per bar:
- variance follows GARCH(1,1), h_t = ω + α ε²_{t-1} + β h_{t-1}, with Student-t shocks (fat tails,
  volatility clustering);
- a hidden regime switches at random between range (over-differenced noise, so the price keeps
  coming back), up-trend and down-trend (a drift of a fraction of the typical bar move);
- occasionally the open gaps away from the previous close;
- highs and lows extend beyond the body by a half-normal multiple of the bar's volatility;
- volume grows with the bar's absolute return.
Different timeframes of one symbol are independent paths.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from academy.kit import clock
from academy.trading.market_data.feed import BAR_COLUMNS, bar_frame, empty_bars
from academy.trading.market_data.timeframes import EPOCH, timeframe_delta

VENUE = "SIM"
DEFAULT_SEED = 20240101
BLOCK = 1024

# GARCH(1,1): persistence α + β = 0.98 gives clusters lasting tens of bars.
ALPHA, BETA = 0.08, 0.90
T_DOF = 5.0
SWITCH_PROBABILITY = 1 / 150  # a regime lasts ~150 bars on average
REGIMES = np.array([0, 0, 1, 2])  # range twice as likely as each trend direction
TREND_DRIFT = 0.08  # per bar, in units of the typical bar move
RANGE_REVERSION = 0.6  # MA(1) coefficient in ranges: most of each move is given back next bar
GAP_PROBABILITY = 0.004
GAP_SCALE = 4.0
WICK_SCALE = 0.6
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class MarketProfile:
    symbol: str
    asset_class: str
    start_price: float
    annual_volatility: float
    tick_size: float
    quote_currency: str
    base_currency: str | None
    daily_volume: float

    @property
    def venue(self) -> str:
        return VENUE


SIMULATED_MARKETS: dict[str, MarketProfile] = {
    p.symbol: p
    for p in (
        MarketProfile("BTCUSD-SIM", "crypto", 40_000.0, 0.60, 0.01, "USD", "BTC", 25_000.0),
        MarketProfile("ETHUSD-SIM", "crypto", 2_200.0, 0.75, 0.01, "USD", "ETH", 300_000.0),
        MarketProfile("EURUSD-SIM", "forex", 1.10, 0.08, 0.00001, "USD", "EUR", 1_000_000.0),
        MarketProfile("ACME-SIM", "stock", 120.0, 0.30, 0.01, "USD", None, 5_000_000.0),
        MarketProfile("GOLD-SIM", "commodity", 2_050.0, 0.15, 0.01, "USD", None, 200_000.0),
    )
}


def profile_for(symbol: str) -> MarketProfile:
    """The preset for a known simulated symbol, else a generic stock-like market."""
    known = SIMULATED_MARKETS.get(symbol)
    if known is not None:
        return known
    price = 20.0 + zlib.crc32(symbol.encode()) % 180
    return MarketProfile(symbol, "stock", float(price), 0.35, 0.01, "USD", None, 1_000_000.0)


@dataclass(frozen=True)
class _State:
    variance: float
    shock: float  # the previous bar's ε, for the range regime's MA(1) term
    log_close: float
    regime: int


class _Path:
    """One market's path on one timeframe: parameters plus memoized block start states."""

    def __init__(self, seed: int, profile: MarketProfile, timeframe: str) -> None:
        delta = timeframe_delta(timeframe)
        self.entropy = [seed, zlib.crc32(profile.symbol.encode()), zlib.crc32(timeframe.encode())]
        self.profile = profile
        self.delta_ns = (delta // timedelta(microseconds=1)) * 1000
        self.sigma = profile.annual_volatility * math.sqrt(delta / YEAR)
        self.omega = self.sigma**2 * (1 - ALPHA - BETA)
        self.bar_volume = profile.daily_volume * (delta / timedelta(days=1))
        self.states = [_State(self.sigma**2, 0.0, math.log(profile.start_price), 0)]
        self.lock = threading.Lock()

    def bars(self, first: int, stop: int) -> pd.DataFrame:
        """Bars with index first <= k < stop."""
        if stop <= first:
            return empty_bars()
        parts = [self._block(b) for b in range(first // BLOCK, (stop - 1) // BLOCK + 1)]
        values = {c: np.concatenate([p[c] for p in parts]) for c in BAR_COLUMNS}
        offset = first - (first // BLOCK) * BLOCK
        values = {c: v[offset : offset + stop - first] for c, v in values.items()}
        return values_frame(values, first, self.delta_ns)

    def _state(self, block: int) -> _State:
        with self.lock:
            while len(self.states) <= block:
                _, end = self._generate(len(self.states) - 1, self.states[-1])
                self.states.append(end)
            return self.states[block]

    def _block(self, block: int) -> dict[str, np.ndarray]:
        values, _ = self._generate(block, self._state(block))
        return values

    def _generate(self, block: int, state: _State) -> tuple[dict[str, np.ndarray], _State]:
        rng = np.random.default_rng(np.random.SeedSequence(self.entropy, spawn_key=(block,)))
        n = BLOCK
        z = rng.standard_t(T_DOF, n) / math.sqrt(T_DOF / (T_DOF - 2))
        switch = rng.random(n) < SWITCH_PROBABILITY
        choice = REGIMES[rng.integers(0, len(REGIMES), n)]
        gap = np.where(rng.random(n) < GAP_PROBABILITY, GAP_SCALE * rng.standard_normal(n), 0.0)
        wick_up, wick_down = np.abs(rng.standard_normal((2, n)))
        volume_noise = rng.standard_normal(n)

        # GARCH(1,1) in closed form: with a_t = α z²_{t-1} + β the recursion h_t = ω + a_t h_{t-1} is
        # linear, so h_t = P_t (h_0 + ω Σ_{j≤t} 1/P_j) with P_t = Π_{i≤t} a_i. A block is short
        # enough for P to stay inside float range.
        log_a = np.concatenate(([0.0], np.cumsum(np.log(ALPHA * z[:-1] ** 2 + BETA))))
        growth = np.exp(log_a)
        variance = growth * (state.variance + self.omega * (np.cumsum(1.0 / growth) - 1.0))
        vol = np.sqrt(variance)
        shock = vol * z

        last_switch = np.maximum.accumulate(np.where(switch, np.arange(n), -1))
        regime = np.where(last_switch >= 0, choice[np.maximum(last_switch, 0)], state.regime)
        drift = np.select(
            [regime == 1, regime == 2], [TREND_DRIFT * self.sigma, -TREND_DRIFT * self.sigma], 0.0
        )
        previous_shock = np.concatenate(([state.shock], shock[:-1]))
        body = drift + shock - np.where(regime == 0, RANGE_REVERSION, 0.0) * previous_shock
        jump = gap * vol

        log_close = state.log_close + np.cumsum(jump + body)
        log_open = log_close - body
        top = np.maximum(log_open, log_close) + WICK_SCALE * vol * wick_up
        bottom = np.minimum(log_open, log_close) - WICK_SCALE * vol * wick_down
        move = np.abs(jump + body) / self.sigma
        volume = self.bar_volume * (0.4 + 0.6 * move) * np.exp(0.35 * volume_noise)

        tick = self.profile.tick_size
        values = {
            "open": _round(np.exp(log_open), tick),
            "high": _round(np.exp(top), tick),
            "low": _round(np.exp(bottom), tick),
            "close": _round(np.exp(log_close), tick),
            "volume": np.round(volume, 4),
        }
        end = _State(
            variance=float(self.omega + (ALPHA * z[-1] ** 2 + BETA) * variance[-1]),
            shock=float(shock[-1]),
            log_close=float(log_close[-1]),
            regime=int(regime[-1]),
        )
        return values, end


def _round(prices: np.ndarray, tick: float) -> np.ndarray:
    # Rounding is monotonic, so low <= open, close <= high survives it.
    decimals = round(-math.log10(tick))
    if math.isclose(10.0**-decimals, tick):
        return np.round(prices, decimals)  # no 1.0985200000000002 for a 0.00001 tick
    return np.round(prices / tick) * tick


def values_frame(values: dict[str, np.ndarray], first: int, delta_ns: int) -> pd.DataFrame:
    start = pd.Timestamp(EPOCH).as_unit("ns").value + first * delta_ns
    times = pd.to_datetime(start + delta_ns * np.arange(len(values["open"]), dtype=np.int64), utc=True)
    return bar_frame(times.as_unit("us"), values)


_PATHS: OrderedDict[tuple[int, str, str], _Path] = OrderedDict()
_PATHS_LOCK = threading.Lock()
_MAX_PATHS = 256


def _path(seed: int, symbol: str, timeframe: str) -> _Path:
    key = (seed, symbol, timeframe)
    with _PATHS_LOCK:
        path = _PATHS.get(key)
        if path is None:
            path = _PATHS[key] = _Path(seed, profile_for(symbol), timeframe)
            if len(_PATHS) > _MAX_PATHS:
                _PATHS.popitem(last=False)
        else:
            _PATHS.move_to_end(key)
        return path


def _index_at_or_after(moment: datetime, delta: timedelta) -> int:
    return max(0, -((EPOCH - moment) // delta))


def simulated_bars(
    symbol: str, timeframe: str, start: datetime, end: datetime, *, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """The simulated bars with start <= open_time < end (the path begins at EPOCH)."""
    delta = timeframe_delta(timeframe)
    return _path(seed, symbol, timeframe).bars(
        _index_at_or_after(start, delta), _index_at_or_after(end, delta)
    )


def closed_bar_count(timeframe: str, now: datetime) -> int:
    """How many bars have closed by `now`: bar k closes at EPOCH + (k + 1) × timeframe."""
    return max(0, (now - EPOCH) // timeframe_delta(timeframe))


class SimulatedFeed:
    """A MarketFeed over the simulator. "Now" is `kit.clock.now()`, so a frozen clock replays."""

    name = "simulator"
    venue = VENUE

    def __init__(self, seed: int = DEFAULT_SEED, *, history: int = 500, max_bars: int = 5000) -> None:
        self.seed = seed
        self.history = history
        self.max_bars = max_bars

    async def fetch_closed_bars(self, symbol: str, timeframe: str, since: datetime | None) -> pd.DataFrame:
        delta = timeframe_delta(timeframe)
        stop = closed_bar_count(timeframe, clock.now())
        first = max(0, stop - self.history) if since is None else _index_at_or_after(since, delta)
        stop = min(stop, first + self.max_bars)
        return _path(self.seed, symbol, timeframe).bars(first, stop)
