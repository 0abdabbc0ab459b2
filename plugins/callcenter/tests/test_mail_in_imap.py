"""Incoming e-mail from a real IMAP server: Dovecot (Debian ``dovecot-imapd``) started by the test with
a throw-away configuration on random loopback ports, over implicit TLS (a self-signed certificate
trusted through ``imap_ca_file``), STARTTLS and plain IMAP; the password is stored encrypted (Fernet)."""

from __future__ import annotations

import imaplib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from mango_callcenter.comms import mailboxes, secrets
from mango_callcenter.comms.models import MailSource
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk.models import Ticket
from mango_core.mail.testing import free_port

USER, PASSWORD = "support", "tajne-heslo-9"
KEY = Fernet.generate_key().decode()


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    pid: int

    def append(self, msg: EmailMessage) -> None:
        """Deliver like an MTA would: IMAP APPEND into INBOX (unseen)."""
        box = imaplib.IMAP4("127.0.0.1", self.imap_port)
        box.login(USER, PASSWORD)
        status, _data = box.append("INBOX", "", imaplib.Time2Internaldate(time.time()), msg.as_bytes())
        box.logout()
        assert status == "OK"

    def unseen(self) -> int:
        box = imaplib.IMAP4("127.0.0.1", self.imap_port)
        box.login(USER, PASSWORD)
        box.select("INBOX")
        _status, data = box.search(None, "UNSEEN")
        box.logout()
        return len(data[0].split())


CONFIG = """base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
instance_name = h9-{imap}
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=65534 gid=65534 home={root}/home/%u
}}
mail_location = maildir:{root}/home/%u/Maildir
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        if os.environ.get("CI") == "true":
            pytest.fail("dovecot is missing: apt-get install dovecot-imapd")
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    # not pytest's tmp_path: that is private to root, and Dovecot's mail processes run as nobody
    root = Path(tempfile.mkdtemp(prefix="h9-dovecot-"))
    root.chmod(0o755)
    for sub in ("run", "state", f"home/{USER}/Maildir/new", f"home/{USER}/Maildir/cur", f"home/{USER}/Maildir/tmp"):
        (root / sub).mkdir(parents=True)
    subprocess.run(["chown", "-R", "65534:65534", str(root / "home")], check=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(root / "key.pem"),
                    "-out", str(root / "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    imap, imaps = free_port(), free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, imap=imap, imaps=imaps))
    proc = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")])  # foreground: we own its pid
    try:
        for _try in range(100):
            try:
                imaplib.IMAP4("127.0.0.1", imap).logout()
                break
            except OSError:
                assert proc.poll() is None, (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                time.sleep(0.1)
        yield Dovecot(root, imap, imaps, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def mail(subject: str, body: str, *, sender: str = "jana@example.test", in_reply_to: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "podpora@alfa.test"
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid("h9imap", "example.test")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    msg.set_content(body)
    return msg


def settings(dovecot: Dovecot) -> dict:
    return {"secret_keys": [KEY], "imap_ca_file": str(dovecot.root / "cert.pem"), "attachment_max_bytes": 10_000,
            "attachments_per_message": 5}


@pytest.mark.parametrize("security", ["ssl", "starttls", "none"])
def test_imap_mail_becomes_a_ticket_its_answer_threads_and_a_second_fetch_adds_nothing(
        db, world, in_loc, customer_a, dovecot, security):
    port = dovecot.imaps_port if security == "ssl" else dovecot.imap_port
    question = mail(f"Výpadek ({security})", "Nejde nic.")
    dovecot.append(question)
    with in_loc(world.loc_a):
        source = mailboxes.save_source(db, name="IMAP", kind="imap", host="127.0.0.1", port=port, security=security,
                                       username=USER, password=PASSWORD, keys=[KEY])
        db.commit()
        assert PASSWORD not in source.password_enc and secrets.decrypt(source.password_enc, keys=[KEY]) == PASSWORD
        result = mailboxes.fetch_source(db, source, settings(dovecot))
        assert result.errors == [] and result.created == 1, result
        ticket = db.scalar(select(Ticket).where(Ticket.subject == f"Výpadek ({security})"))
        assert ticket.customer_id == customer_a.id
        assert dovecot.unseen() == 0  # marked \Seen on the server only after the commit
        staff = helpdesk.Actor(user_id=world.admin_a.id)
        reply = helpdesk.reply(db, ticket, "Opraveno.", staff).message
        db.commit()
        dovecot.append(mail("Re: whatever", "Díky!", in_reply_to=reply.email_message_id))
        dovecot.append(question)  # the same message again (a duplicate delivery)
        again = mailboxes.fetch_source(db, source, settings(dovecot))
        assert (again.read, again.threaded, again.created) == (1, 1, 0), again
        assert [m.body for m in helpdesk.thread(db, ticket, public_only=True)] == ["Nejde nic.", "Opraveno.", "Díky!"]
        assert mailboxes.fetch_source(db, source, settings(dovecot)).read == 0
        assert db.scalar(select(func.count()).select_from(Ticket)) == 1


def test_a_wrong_password_or_an_untrusted_certificate_is_an_error_on_the_source_and_nothing_is_read(
        db, world, in_loc, dovecot):
    dovecot.append(mail("Nepřečteno", "x"))
    with in_loc(world.loc_a):
        wrong = mailboxes.save_source(db, name="Špatné heslo", kind="imap", host="127.0.0.1",
                                      port=dovecot.imap_port, security="starttls", username=USER, password="nope",
                                      keys=[KEY])
        untrusted = mailboxes.save_source(db, name="Cizí CA", kind="imap", host="127.0.0.1",
                                          port=dovecot.imaps_port, security="ssl", username=USER, password=PASSWORD,
                                          keys=[KEY])
        db.commit()
        assert mailboxes.fetch_source(db, wrong, settings(dovecot)).errors
        assert "IMAP 127.0.0.1" in db.scalar(select(MailSource.last_error).where(MailSource.id == wrong.id))
        no_ca = {**settings(dovecot), "imap_ca_file": ""}
        assert mailboxes.fetch_source(db, untrusted, no_ca).errors
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.last_error
        other_key = {**settings(dovecot), "secret_keys": [Fernet.generate_key().decode()]}
        assert "cannot be decrypted" in mailboxes.fetch_source(db, untrusted, other_key).errors[0]
        assert db.scalar(select(func.count()).select_from(Ticket)) == 0
    assert dovecot.unseen() >= 1


def test_an_imap_source_needs_a_server_user_and_password(db, world, in_loc):
    from mango_core.tenancy.validators import InvalidValue

    with in_loc(world.loc_a):
        with pytest.raises(InvalidValue) as err:
            mailboxes.save_source(db, name="X", kind="imap", host="", username="u", password="p", keys=[KEY])
        assert err.value.field == "host"
        with pytest.raises(InvalidValue) as err:
            mailboxes.save_source(db, name="X", kind="imap", host="h", username="u", password="", keys=[KEY])
        assert err.value.field == "password"
        with pytest.raises(InvalidValue) as err:
            mailboxes.save_source(db, name="X", kind="imap", host="h", username="u", password="p", keys=[])
        assert err.value.field == "password"
        assert db.scalar(select(func.count()).select_from(MailSource)) == 0
