from pathlib import Path

from alembic import command
from fastapi import Depends
from jinja2 import Environment, FileSystemLoader

from academy.auth.access import public
from academy.cli import _alembic_config
from academy.web.templating import TEMPLATES_DIR, env


def test_migrations_match_the_models(migrated_template):
    url = migrated_template if "://" in migrated_template else f"sqlite+aiosqlite:///{migrated_template}"
    command.check(_alembic_config(url))  # raises when a model change has no migration


def test_every_template_compiles():
    names = [str(p.relative_to(TEMPLATES_DIR)) for p in Path(TEMPLATES_DIR).rglob("*.html")]
    assert len(names) > 10
    for name in names:
        env.get_template(name)
    email_dir = Path(TEMPLATES_DIR).parents[1] / "notification" / "templates"
    mail_env = Environment(loader=FileSystemLoader(email_dir), extensions=["jinja2.ext.i18n"])
    for path in email_dir.iterdir():
        mail_env.get_template(path.name)


async def test_unexpected_error_is_a_500_inside_the_layout_and_an_envelope_on_the_api(app, client):
    async def boom(_=Depends(public)) -> dict:
        raise RuntimeError("kaboom")

    app.add_api_route("/boom", boom)
    app.add_api_route("/api/v1/boom", boom)
    page = await client.get("/boom")
    assert page.status_code == 500 and "navbar" in page.text and "kaboom" not in page.text
    api = await client.get("/api/v1/boom")
    assert api.status_code == 500 and api.json() == {
        "error": "InternalError",
        "detail": "Internal error; it has been logged",
    }
