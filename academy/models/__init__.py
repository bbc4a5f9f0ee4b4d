from academy.models.auth import EmailToken, RefreshToken, WebSession
from academy.models.base import Base
from academy.models.course import (
    Course,
    CourseCurator,
    FaqEntry,
    GlossaryTerm,
    Lesson,
    LessonAttachment,
    LessonPrerequisite,
    Module,
    Question,
    Quiz,
    QuizAttempt,
    SearchDocument,
)
from academy.models.learning import (
    ActivityEvent,
    Certificate,
    Enrollment,
    GamificationProfile,
    LessonProgress,
    UserAchievement,
    XpEvent,
)
from academy.models.notification import Email, Notification, NotificationPreference
from academy.models.trading import Bar, Instrument
from academy.models.user import Role, User

__all__ = [
    "ActivityEvent",
    "Bar",
    "Base",
    "Certificate",
    "Course",
    "CourseCurator",
    "Email",
    "EmailToken",
    "Enrollment",
    "FaqEntry",
    "GamificationProfile",
    "GlossaryTerm",
    "Instrument",
    "Lesson",
    "LessonAttachment",
    "LessonPrerequisite",
    "LessonProgress",
    "Module",
    "Notification",
    "NotificationPreference",
    "Question",
    "Quiz",
    "QuizAttempt",
    "RefreshToken",
    "Role",
    "SearchDocument",
    "User",
    "UserAchievement",
    "WebSession",
    "XpEvent",
]
