"""Course-as-code: read a course folder into plain specs, and write specs back.

The format is documented in docs/content-format.md. Reading never touches the database; every
problem is collected as `path:line: message` so an author sees all mistakes at once and nothing
is imported until the folder is clean.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ORDERED_NAME = re.compile(r"^(\d+)-(.+)$")
LEVELS = ("beginner", "intermediate", "advanced")
QUESTION_KINDS = ("single", "multiple", "numeric", "text")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


class ContentError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class AttachmentSpec:
    name: str
    data: bytes
    content_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class QuestionSpec:
    kind: str
    prompt: str
    answer: Any
    options: list[str] = field(default_factory=list)
    tolerance: float = 0.0
    unit: str | None = None
    explanation: str = ""


@dataclass
class QuizSpec:
    title: str
    pass_mark: int
    questions: list[QuestionSpec]


@dataclass
class LessonSpec:
    slug: str
    title: str
    body: str
    duration: int = 10
    difficulty: str = "beginner"
    tags: list[str] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)
    video: str | None = None
    attachments: list[AttachmentSpec] = field(default_factory=list)
    deadline_days: int | None = None
    published: bool = True
    quiz: QuizSpec | None = None


@dataclass
class ModuleSpec:
    slug: str
    title: str
    summary: str
    lessons: list[LessonSpec]


@dataclass
class TermSpec:
    term: str
    definition: str
    see_also: list[str] = field(default_factory=list)


@dataclass
class FaqSpec:
    question: str
    answer: str
    tags: list[str] = field(default_factory=list)


@dataclass
class CourseSpec:
    slug: str
    title: str
    summary: str
    level: str = "beginner"
    published: bool = True
    certificate: bool = True
    modules: list[ModuleSpec] = field(default_factory=list)
    glossary: list[TermSpec] = field(default_factory=list)
    faq: list[FaqSpec] = field(default_factory=list)


# --- yaml with line numbers -------------------------------------------------------------------


class _Map(dict[str, Any]):
    line = 1
    key_lines: dict[str, int]


class _List(list[Any]):
    line = 1
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> _Map:
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[str(key)] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_list(loader: _LineLoader, node: yaml.SequenceNode) -> _List:
    result = _List(loader.construct_object(item, deep=True) for item in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [item.start_mark.line + 1 for item in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


class _Reader:
    """Collects problems while reading one folder; every message is `path:line: text`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []
        # lesson slug -> (file, line of its slug, line of its prerequisites) for cross-file checks
        self.lesson_lines: dict[str, tuple[Path, int, int]] = {}
        self.unreadable: set[Path] = set()  # already reported; say nothing more about their shape

    def where(self, path: Path, line: int) -> str:
        try:
            shown = path.relative_to(self.root.parent)
        except ValueError:
            shown = path
        return f"{shown}:{line}"

    def problem(self, path: Path, line: int, message: str) -> None:
        self.problems.append(f"{self.where(path, line)}: {message}")

    def load_yaml(self, path: Path, text: str | None = None, line_offset: int = 0) -> Any:
        try:
            source = path.read_text(encoding="utf-8") if text is None else text
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, 1, f"cannot read file ({exc})")
            self.unreadable.add(path)
            return None
        self.unreadable.add(path)  # until it parses
        try:
            loaded = yaml.load(source, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
            self.unreadable.discard(path)
            return loaded
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = (mark.line + 1 if mark else 1) + line_offset
            self.problem(path, line, f"invalid YAML: {exc.problem or exc}")
        except yaml.YAMLError as exc:
            self.problem(path, 1 + line_offset, f"invalid YAML: {exc}")
        return None

    def mapping(
        self,
        value: Any,
        path: Path,
        *,
        required: dict[str, type | tuple[type, ...]],
        optional: dict[str, type | tuple[type, ...]],
        line_offset: int = 0,
        line: int = 1,
    ) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            if path not in self.unreadable:
                self.problem(path, line + line_offset, "expected a mapping of keys to values")
            return None
        start = getattr(value, "line", 1) + line_offset
        key_lines = getattr(value, "key_lines", {})
        ok = True
        for key in value:
            if key not in required and key not in optional:
                known = ", ".join(sorted([*required, *optional]))
                self.problem(
                    path, key_lines.get(key, 1) + line_offset, f"unknown key '{key}' (known: {known})"
                )
                ok = False
        for key in required:
            if key not in value or value[key] is None or value[key] == "":
                self.problem(path, start, f"missing required key '{key}'")
                ok = False
        for key, kind in {**required, **optional}.items():
            if key in value and value[key] is not None and not _is(value[key], kind):
                self.problem(path, key_lines.get(key, 1) + line_offset, f"'{key}' must be {_type_name(kind)}")
                ok = False
        return dict(value) if ok else None

    def slug(self, value: str, path: Path, line: int, what: str) -> bool:
        if not SLUG.match(value):
            self.problem(path, line, f"{what} '{value}' must use lowercase letters, digits and hyphens")
            return False
        return True


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    if list in kinds and isinstance(value, list):
        return True
    return isinstance(value, kinds)


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _line_of(value: Any, key: str, offset: int = 0) -> int:
    return int(getattr(value, "key_lines", {}).get(key, getattr(value, "line", 1))) + offset


def _ordered(children: list[Path]) -> list[tuple[int, str, Path]]:
    found = []
    for child in children:
        match = ORDERED_NAME.match(child.name)
        if match:
            found.append((int(match.group(1)), match.group(2), child))
    return sorted(found, key=lambda item: (item[0], item[1]))


def _str_list(reader: _Reader, value: Any, path: Path, line: int, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reader.problem(path, line, f"'{what}' must be a list of text items")
        return []
    return [str(v) for v in value]


# --- reading ----------------------------------------------------------------------------------


def read_course(folder: Path) -> CourseSpec:
    folder = folder.resolve()
    reader = _Reader(folder)
    course_file = folder / "course.yaml"
    if not course_file.is_file():
        raise ContentError([f"{folder}: no course.yaml in this folder"])
    raw = reader.load_yaml(course_file)
    data = reader.mapping(
        raw,
        course_file,
        required={"slug": str, "title": str},
        optional={"summary": str, "level": str, "published": bool, "certificate": bool},
    )
    course = CourseSpec(slug="", title="", summary="")
    if data is not None:
        reader.slug(data["slug"], course_file, _line_of(raw, "slug"), "course slug")
        level = data.get("level", "beginner")
        if level not in LEVELS:
            reader.problem(course_file, _line_of(raw, "level"), f"level must be one of {', '.join(LEVELS)}")
        course = CourseSpec(
            slug=data["slug"],
            title=data["title"].strip(),
            summary=(data.get("summary") or "").strip(),
            level=level,
            published=data.get("published", True),
            certificate=data.get("certificate", True),
        )

    module_dirs = _ordered([p for p in folder.iterdir() if p.is_dir()])
    if not module_dirs:
        reader.problem(course_file, 1, "the course has no module folders (named like 01-markets)")
    for _, _, module_dir in module_dirs:
        module = _read_module(reader, module_dir)
        if module is not None:
            course.modules.append(module)
    _check_unique(reader, course, folder)
    if (folder / "glossary.yaml").is_file():
        course.glossary = _read_glossary(reader, folder / "glossary.yaml")
    if (folder / "faq.yaml").is_file():
        course.faq = _read_faq(reader, folder / "faq.yaml")
    if reader.problems:
        raise ContentError(reader.problems)
    return course


def _read_module(reader: _Reader, module_dir: Path) -> ModuleSpec | None:
    module_file = module_dir / "module.yaml"
    if not module_file.is_file():
        reader.problem(module_dir, 1, "module folder has no module.yaml")
        return None
    raw = reader.load_yaml(module_file)
    data = reader.mapping(raw, module_file, required={"slug": str, "title": str}, optional={"summary": str})
    lessons = []
    for _, _, lesson_file in _ordered([p for p in module_dir.iterdir() if p.suffix == ".md"]):
        lesson = _read_lesson(reader, lesson_file, module_dir)
        if lesson is not None:
            lessons.append(lesson)
    known_stems = {p.stem for p in module_dir.glob("*.md")}
    for quiz_file in module_dir.glob("*.quiz.yaml"):
        if quiz_file.name.removesuffix(".quiz.yaml") not in known_stems:
            reader.problem(quiz_file, 1, "quiz file has no lesson with the same name")
    if data is None:
        return None
    reader.slug(data["slug"], module_file, _line_of(raw, "slug"), "module slug")
    return ModuleSpec(
        slug=data["slug"],
        title=data["title"].strip(),
        summary=(data.get("summary") or "").strip(),
        lessons=lessons,
    )


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


def _read_lesson(reader: _Reader, path: Path, module_dir: Path) -> LessonSpec | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reader.problem(path, 1, f"cannot read file ({exc})")
        return None
    match = _FRONT_MATTER.match(text)
    if not match:
        reader.problem(path, 1, "a lesson starts with YAML front matter between two '---' lines")
        return None
    offset = 1  # the front matter starts on the file's second line
    raw = reader.load_yaml(path, match.group(1), line_offset=offset)
    if raw is None:
        return None
    data = reader.mapping(
        raw,
        path,
        required={"slug": str, "title": str},
        optional={
            "duration": int,
            "difficulty": str,
            "tags": list,
            "prerequisites": list,
            "video": str,
            "attachments": list,
            "deadline_days": int,
            "published": bool,
        },
        line_offset=offset,
    )
    if data is None:
        return None
    body = text[match.end() :].strip() + "\n"
    ok = reader.slug(data["slug"], path, _line_of(raw, "slug", offset), "lesson slug")
    difficulty = data.get("difficulty", "beginner")
    if difficulty not in LEVELS:
        reader.problem(
            path, _line_of(raw, "difficulty", offset), f"difficulty must be one of {', '.join(LEVELS)}"
        )
        ok = False
    duration = data.get("duration", 10)
    if not 1 <= duration <= 600:
        reader.problem(path, _line_of(raw, "duration", offset), "duration must be between 1 and 600 minutes")
        ok = False
    deadline = data.get("deadline_days")
    if deadline is not None and not 1 <= deadline <= 3650:
        reader.problem(
            path, _line_of(raw, "deadline_days", offset), "deadline_days must be between 1 and 3650"
        )
        ok = False
    video = data.get("video")
    if video is not None and not re.match(r"^https?://\S+$", video):
        reader.problem(path, _line_of(raw, "video", offset), "video must be an http(s) link")
        ok = False
    tags = _str_list(reader, data.get("tags"), path, _line_of(raw, "tags", offset), "tags")
    for tag in tags:
        ok = reader.slug(tag, path, _line_of(raw, "tags", offset), "tag") and ok
    attachments = []
    for name in _str_list(
        reader, data.get("attachments"), path, _line_of(raw, "attachments", offset), "attachments"
    ):
        attachment = _read_attachment(reader, module_dir, name, path, _line_of(raw, "attachments", offset))
        if attachment is None:
            ok = False
        else:
            attachments.append(attachment)
    reader.lesson_lines.setdefault(
        data["slug"], (path, _line_of(raw, "slug", offset), _line_of(raw, "prerequisites", offset))
    )
    quiz_file = path.with_name(path.stem + ".quiz.yaml")
    quiz = _read_quiz(reader, quiz_file) if quiz_file.is_file() else None
    if not ok or (quiz_file.is_file() and quiz is None):
        return None
    return LessonSpec(
        slug=data["slug"],
        title=data["title"].strip(),
        body=body,
        duration=duration,
        difficulty=difficulty,
        tags=tags,
        prerequisites=_str_list(
            reader, data.get("prerequisites"), path, _line_of(raw, "prerequisites", offset), "prerequisites"
        ),
        video=video,
        attachments=attachments,
        deadline_days=deadline,
        published=data.get("published", True),
        quiz=quiz,
    )


def _read_attachment(
    reader: _Reader, module_dir: Path, name: str, path: Path, line: int
) -> AttachmentSpec | None:
    target = (module_dir / name).resolve()
    if not target.is_relative_to(module_dir.resolve()) or not target.is_file():
        reader.problem(path, line, f"attachment '{name}' is not a file inside the module folder")
        return None
    data = target.read_bytes()
    if len(data) > MAX_ATTACHMENT_BYTES:
        reader.problem(path, line, f"attachment '{name}' is larger than {MAX_ATTACHMENT_BYTES // 2**20} MB")
        return None
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return AttachmentSpec(name=name, data=data, content_type=content_type)


def _read_quiz(reader: _Reader, path: Path) -> QuizSpec | None:
    raw = reader.load_yaml(path)
    data = reader.mapping(raw, path, required={"title": str, "questions": list}, optional={"pass_mark": int})
    if data is None:
        return None
    pass_mark = data.get("pass_mark", 80)
    ok = True
    if not 1 <= pass_mark <= 100:
        reader.problem(path, _line_of(raw, "pass_mark"), "pass_mark must be a percentage from 1 to 100")
        ok = False
    questions = []
    lines = getattr(raw["questions"], "item_lines", [])
    if not raw["questions"]:
        reader.problem(path, _line_of(raw, "questions"), "a quiz needs at least one question")
        ok = False
    for index, item in enumerate(raw["questions"]):
        question = _read_question(reader, path, item, lines[index] if index < len(lines) else 1)
        if question is None:
            ok = False
        else:
            questions.append(question)
    if not ok:
        return None
    return QuizSpec(title=data["title"].strip(), pass_mark=pass_mark, questions=questions)


def _read_question(reader: _Reader, path: Path, raw: Any, line: int) -> QuestionSpec | None:
    data = reader.mapping(
        raw,
        path,
        required={"kind": str, "prompt": str},
        optional={
            "options": list,
            "answer": (int, float),
            "answers": list,
            "accepted": list,
            "tolerance": (int, float),
            "unit": str,
            "explanation": str,
        },
        line=line,
    )
    if data is None:
        return None
    kind = data["kind"]
    at = _line_of(raw, "kind")
    spec = QuestionSpec(
        kind=kind,
        prompt=data["prompt"].strip(),
        answer=None,
        explanation=(data.get("explanation") or "").strip(),
        unit=data.get("unit"),
    )
    if kind not in QUESTION_KINDS:
        reader.problem(path, at, f"question kind must be one of {', '.join(QUESTION_KINDS)}")
        return None
    if kind in ("single", "multiple"):
        options = _str_list(reader, data.get("options"), path, _line_of(raw, "options"), "options")
        if len(options) < 2:
            reader.problem(path, _line_of(raw, "options"), "a choice question needs at least two options")
            return None
        spec.options = [str(o) for o in options]
        if kind == "single":
            answer = data.get("answer")
            if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(options):
                reader.problem(
                    path,
                    _line_of(raw, "answer"),
                    f"answer must be an option index from 0 to {len(options) - 1}",
                )
                return None
            spec.answer = answer
        else:
            answers = data.get("answers")
            if (
                not isinstance(answers, list)
                or not answers
                or not all(
                    isinstance(a, int) and not isinstance(a, bool) and 0 <= a < len(options) for a in answers
                )
                or len(set(answers)) != len(answers)
            ):
                reader.problem(
                    path,
                    _line_of(raw, "answers"),
                    f"answers must be a list of distinct option indexes from 0 to {len(options) - 1}",
                )
                return None
            spec.answer = sorted(answers)
    elif kind == "numeric":
        answer = data.get("answer")
        if answer is None or isinstance(answer, bool):
            reader.problem(path, _line_of(raw, "answer"), "a numeric question needs a numeric 'answer'")
            return None
        tolerance = float(data.get("tolerance", 0))
        if tolerance < 0:
            reader.problem(path, _line_of(raw, "tolerance"), "tolerance cannot be negative")
            return None
        spec.answer, spec.tolerance = float(answer), tolerance
    else:
        accepted = _str_list(reader, data.get("accepted"), path, _line_of(raw, "accepted"), "accepted")
        if not accepted:
            reader.problem(
                path, _line_of(raw, "accepted"), "a text question needs a list of 'accepted' answers"
            )
            return None
        spec.answer = [str(a) for a in accepted]
    return spec


def _read_glossary(reader: _Reader, path: Path) -> list[TermSpec]:
    raw = reader.load_yaml(path)
    if not isinstance(raw, list):
        if raw is not None:
            reader.problem(path, 1, "the glossary is a list of terms")
        return []
    terms = []
    lines = getattr(raw, "item_lines", [])
    for index, item in enumerate(raw):
        data = reader.mapping(
            item,
            path,
            required={"term": str, "definition": str},
            optional={"see_also": list},
            line=lines[index],
        )
        if data is not None:
            see_also = _str_list(reader, data.get("see_also"), path, _line_of(item, "see_also"), "see_also")
            terms.append(
                TermSpec(term=data["term"].strip(), definition=data["definition"].strip(), see_also=see_also)
            )
    seen: dict[str, int] = {}
    for index, term in enumerate(terms):
        key = term.term.casefold()
        if key in seen:
            reader.problem(path, lines[index], f"term '{term.term}' is defined twice")
        seen[key] = index
    return terms


def _read_faq(reader: _Reader, path: Path) -> list[FaqSpec]:
    raw = reader.load_yaml(path)
    if not isinstance(raw, list):
        if raw is not None:
            reader.problem(path, 1, "the FAQ is a list of questions")
        return []
    entries = []
    lines = getattr(raw, "item_lines", [])
    for index, item in enumerate(raw):
        data = reader.mapping(
            item, path, required={"question": str, "answer": str}, optional={"tags": list}, line=lines[index]
        )
        if data is not None:
            tags = _str_list(reader, data.get("tags"), path, _line_of(item, "tags"), "tags")
            entries.append(
                FaqSpec(question=data["question"].strip(), answer=data["answer"].strip(), tags=tags)
            )
    return entries


def _check_unique(reader: _Reader, course: CourseSpec, folder: Path) -> None:
    modules: set[str] = set()
    lessons: set[str] = set()
    for module in course.modules:
        if module.slug in modules:
            reader.problem(folder, 1, f"module slug '{module.slug}' is used twice")
        modules.add(module.slug)
        for lesson in module.lessons:
            if lesson.slug in lessons:
                reader.problem(folder, 1, f"lesson slug '{lesson.slug}' is used twice")
            lessons.add(lesson.slug)
    for module in course.modules:
        for lesson in module.lessons:
            path, _, line = reader.lesson_lines.get(lesson.slug, (folder, 1, 1))
            for prerequisite in lesson.prerequisites:
                if prerequisite not in lessons:
                    reader.problem(
                        path, line, f"lesson '{lesson.slug}' requires unknown lesson '{prerequisite}'"
                    )
                elif prerequisite == lesson.slug:
                    reader.problem(path, line, f"lesson '{lesson.slug}' cannot require itself")


# --- writing ----------------------------------------------------------------------------------


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def write_course(course: CourseSpec, folder: Path) -> Path:
    """Write `course` in the import format under `folder/<slug>` and return that path."""
    target = folder / course.slug
    target.mkdir(parents=True, exist_ok=True)
    head: dict[str, Any] = {"slug": course.slug, "title": course.title, "summary": course.summary}
    head |= {"level": course.level, "published": course.published, "certificate": course.certificate}
    (target / "course.yaml").write_text(_dump(head), encoding="utf-8")
    for m_index, module in enumerate(course.modules, start=1):
        module_dir = target / f"{m_index:02d}-{module.slug}"
        module_dir.mkdir(exist_ok=True)
        (module_dir / "module.yaml").write_text(
            _dump({"slug": module.slug, "title": module.title, "summary": module.summary}), encoding="utf-8"
        )
        for l_index, lesson in enumerate(module.lessons, start=1):
            stem = f"{l_index:02d}-{lesson.slug}"
            meta: dict[str, Any] = {
                "slug": lesson.slug,
                "title": lesson.title,
                "duration": lesson.duration,
                "difficulty": lesson.difficulty,
                "tags": lesson.tags,
            }
            if lesson.prerequisites:
                meta["prerequisites"] = lesson.prerequisites
            if lesson.video:
                meta["video"] = lesson.video
            if lesson.attachments:
                meta["attachments"] = [a.name for a in lesson.attachments]
                for attachment in lesson.attachments:
                    file = module_dir / attachment.name
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_bytes(attachment.data)
            if lesson.deadline_days is not None:
                meta["deadline_days"] = lesson.deadline_days
            if not lesson.published:
                meta["published"] = False
            (module_dir / f"{stem}.md").write_text(
                f"---\n{_dump(meta)}---\n\n{lesson.body}", encoding="utf-8"
            )
            if lesson.quiz is not None:
                (module_dir / f"{stem}.quiz.yaml").write_text(
                    _dump(_quiz_data(lesson.quiz)), encoding="utf-8"
                )
    if course.glossary:
        terms = [
            {"term": t.term, "definition": t.definition, **({"see_also": t.see_also} if t.see_also else {})}
            for t in course.glossary
        ]
        (target / "glossary.yaml").write_text(_dump(terms), encoding="utf-8")
    if course.faq:
        entries = [
            {"question": f.question, "answer": f.answer, **({"tags": f.tags} if f.tags else {})}
            for f in course.faq
        ]
        (target / "faq.yaml").write_text(_dump(entries), encoding="utf-8")
    return target


def _quiz_data(quiz: QuizSpec) -> dict[str, Any]:
    questions = []
    for q in quiz.questions:
        item: dict[str, Any] = {"kind": q.kind, "prompt": q.prompt}
        if q.kind in ("single", "multiple"):
            item["options"] = q.options
            item["answer" if q.kind == "single" else "answers"] = q.answer
        elif q.kind == "numeric":
            item["answer"] = q.answer
            item["tolerance"] = q.tolerance
            if q.unit:
                item["unit"] = q.unit
        else:
            item["accepted"] = q.answer
        if q.explanation:
            item["explanation"] = q.explanation
        questions.append(item)
    return {"title": quiz.title, "pass_mark": quiz.pass_mark, "questions": questions}
