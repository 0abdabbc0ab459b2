"""``mango user create|passwd|disable|enable`` through Flask's CLI runner (inside the test transaction)."""

import pytest
from sqlalchemy import func, select

from mango_core.auth.models import AuthEvent, RoleAssignment, User, UserSession
from mango_core.auth.passwords import verify_password
from mango_core.cli import main
from mango_core.testing.fixtures import login

SECRET = "a-very-long-secret"


@pytest.fixture
def run(app, db):
    runner = app.test_cli_runner()

    def invoke(*args, input=None):  # noqa: A002
        return runner.invoke(main, ["user", *args], input=input)

    return invoke


def user_by_email(db, email):
    db.expire_all()
    return db.scalar(select(User).where(User.email == email))


def test_create_operator_with_password_from_stdin(run, world, db):
    result = run("create", "Boss@Mango.test", "--name", "Šéf", "--operator", "--password-stdin", input=f"{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "Created operator user boss@mango.test." in result.output
    boss = user_by_email(db, "boss@mango.test")
    assert boss.is_operator and boss.partner_id is None and boss.name == "Šéf"
    assert boss.password_hash.startswith("$argon2id$") and verify_password(boss.password_hash, SECRET)


def test_create_partner_user_with_role_and_prompted_password(run, world, db, client):
    result = run("create", "tech@alfa.test", "--name", "Technik", "--partner", "alfa",
                 "--role", "Referent", "--location", "KLA", input=f"{SECRET}\n{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "Role Referent in KLA." in result.output
    tech = user_by_email(db, "tech@alfa.test")
    assert tech.partner_id == world.partner_a.id and not tech.is_operator
    [assignment] = db.scalars(select(RoleAssignment).where(RoleAssignment.user_id == tech.id)).all()
    assert (assignment.role_id, assignment.location_id) == (world.clerk_role_a.id, world.loc_a2.id)
    assert login(client, "tech@alfa.test", SECRET).status_code == 302


def test_prompted_passwords_must_match(run, world, db):
    result = run("create", "x@alfa.test", "--name", "X", "--partner", "ALFA",
                 input=f"{SECRET}\nsomething-else-1\n{SECRET}\n{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output


@pytest.mark.parametrize(("args", "stdin", "message"), [
    (["--operator", "--partner", "ALFA"], SECRET, "exactly one of --operator and --partner"),
    ([], SECRET, "exactly one of --operator and --partner"),
    (["--partner", "ALFA", "--role", "Referent"], SECRET, "--role and --location go together"),
    (["--operator", "--role", "Referent", "--location", "PRG"], SECRET, "they get no --role"),
    (["--partner", "NOPE"], SECRET, "No partner with code NOPE."),
    (["--partner", "ALFA", "--role", "Referent", "--location", "BRN"], SECRET, "Partner ALFA has no location BRN."),
    (["--partner", "ALFA", "--role", "Boss", "--location", "PRG"], SECRET,
     "Partner ALFA has no role 'Boss' (roles: Administrátor, Referent)."),
    (["--partner", "ALFA"], "short", "The password must have at least 10 characters."),
])
def test_bad_input_is_refused_and_changes_nothing(run, world, db, args, stdin, message):
    before = db.scalar(select(func.count()).select_from(User))
    result = run("create", "new@alfa.test", "--name", "Nový", *args, "--password-stdin", input=f"{stdin}\n")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == before


def test_duplicate_email_is_refused(run, world, db):
    result = run("create", "ADMIN@alfa.test", "--name", "Dup", "--partner", "ALFA", "--password-stdin",
                 input=f"{SECRET}\n")
    assert result.exit_code == 1
    assert "A user with e-mail admin@alfa.test already exists." in result.output


def test_passwd_sets_the_password_and_ends_sessions(run, world, db, client):
    login(client, world.clerk_a.email)
    result = run("passwd", "clerk@alfa.test", input=f"{SECRET}\n{SECRET}\n")
    assert result.exit_code == 0, result.output
    assert "1 session(s) ended" in result.output
    assert verify_password(user_by_email(db, "clerk@alfa.test").password_hash, SECRET)
    assert client.get("/").status_code == 302
    assert run("passwd", "ghost@alfa.test", "--password-stdin", input=f"{SECRET}\n").exit_code == 1
    result = run("passwd", "clerk@alfa.test", "--password-stdin", input="short\n")
    assert result.exit_code == 1 and "at least 10 characters" in result.output
    assert verify_password(user_by_email(db, "clerk@alfa.test").password_hash, SECRET)


def test_disable_prints_ended_sessions_and_enable_restores(run, world, db, client):
    login(client, world.admin_b.email)
    result = run("disable", "admin@beta.test")
    assert result.exit_code == 0, result.output
    assert "Disabled admin@beta.test; 1 session(s) ended." in result.output
    assert not user_by_email(db, "admin@beta.test").is_active
    assert client.get("/").status_code == 302
    record = db.scalar(select(UserSession).where(UserSession.user_id == world.admin_b.id))
    assert record.end_reason == "disabled"
    event = db.scalar(select(AuthEvent).where(AuthEvent.event == "user_disabled"))
    assert event.detail.startswith("from the command line")

    again = run("disable", "admin@beta.test")
    assert again.exit_code == 1 and "already disabled" in again.output
    assert run("disable", "nobody@beta.test").exit_code == 1

    result = run("enable", "admin@beta.test")
    assert result.exit_code == 0 and user_by_email(db, "admin@beta.test").is_active
