from __future__ import annotations

from academy.kit.errors import ServiceUnavailable, Unprocessable


class MarketDataError(Unprocessable):
    default_detail = "Invalid market data"


class UnknownTimeframe(MarketDataError):
    pass


class CsvImportError(MarketDataError):
    default_detail = "The CSV file cannot be imported"


class FeedUnavailable(ServiceUnavailable):
    default_detail = "The market data source is unavailable"
