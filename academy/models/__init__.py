from academy.models.auth import EmailToken, RefreshToken, WebSession
from academy.models.base import Base
from academy.models.notification import Email, Notification, NotificationPreference
from academy.models.user import Role, User

__all__ = [
    "Base",
    "Email",
    "EmailToken",
    "Notification",
    "NotificationPreference",
    "RefreshToken",
    "Role",
    "User",
    "WebSession",
]
