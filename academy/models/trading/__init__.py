from academy.models.trading.market import ASSET_CLASSES, Bar, Instrument

__all__ = ["ASSET_CLASSES", "Bar", "Instrument"]
