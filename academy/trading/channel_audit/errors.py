from __future__ import annotations

from academy.kit.errors import Unprocessable


class ChannelAuditError(Unprocessable):
    default_detail = "The messages cannot be audited"
