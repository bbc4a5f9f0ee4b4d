"""Market data: instruments, OHLCV bars, feeds (CSV import, the embedded simulator)."""
