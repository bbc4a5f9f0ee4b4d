"""Market feeds by venue: the embedded simulator for "SIM", ccxt for crypto exchanges."""

from __future__ import annotations

from academy.integrations.market.ccxt_feed import CcxtFeed
from academy.trading.market_data.feed import MarketFeed
from academy.trading.market_data.simulator import VENUE as SIMULATED_VENUE
from academy.trading.market_data.simulator import SimulatedFeed

__all__ = ["CcxtFeed", "MarketFeed", "SimulatedFeed", "market_feed"]


def market_feed(venue: str) -> MarketFeed:
    if venue == SIMULATED_VENUE:
        return SimulatedFeed()
    return CcxtFeed(venue)
