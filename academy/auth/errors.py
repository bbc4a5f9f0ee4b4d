from academy.kit.errors import Conflict, Forbidden, Unauthorized, Unprocessable


class InvalidCredentials(Unauthorized):
    default_detail = "Wrong email or password"


class TotpRequired(Unauthorized):
    default_detail = "Enter the code from your authenticator app"

    def __init__(self, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id


class InvalidToken(Unauthorized):
    default_detail = "Invalid or expired token"


class TokenReuseDetected(Unauthorized):
    """A rotated refresh token came back: the whole family is revoked, and that must be kept."""

    default_detail = "Refresh token was already used; all sessions from that sign-in are revoked"
    keep_changes = True


class EmailTaken(Conflict):
    default_detail = "An account with this email already exists"


class TelegramAlreadyLinked(Conflict):
    default_detail = "This Telegram account is linked to another user"


class InvalidTelegramData(Unauthorized):
    default_detail = "Telegram sign-in data is invalid"


class TotpNotAllowed(Forbidden):
    default_detail = "Two-factor authentication is available for staff accounts"


class InvalidTotpCode(Unprocessable):
    default_detail = "The authenticator code is wrong"
