"""The digest as a MIME message, and handing it to an SMTP server (stdlib ``smtplib``).

Structure: ``multipart/mixed`` [ ``multipart/alternative`` [ text/plain,
``multipart/related`` [ text/html, image/png (``Content-ID``)... ] ], PDF, CSV zip ].
The ``Message-ID`` is derived from the slot, so a repeat of the same digest (the one
window in ``digests.ledger``) is recognisably the same message.

``send`` blocks (smtplib); the service runs it in a worker thread. STARTTLS verifies the
server's certificate with the system's CA store; a login is only attempted over TLS or to
a loopback server.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from digests.build import Built
from digests.config import SmtpConfig
from digests.html import render as render_html

LOOPBACK = ("localhost", "127.0.0.1", "::1")


def message_id(key: str, sender: str) -> str:
    """``<digest-….@domain>``, the same for every attempt at one slot."""
    domain = sender.rpartition("@")[2] or "cxpulse.local"
    return f"<digest-{hashlib.sha256(key.encode()).hexdigest()[:24]}@{domain}>"


def compose(built: Built, *, sender: str, to: tuple[str, ...], key: str,
            date_s: float | None = None) -> EmailMessage:
    """The message for ``built`` (``key``: the slot's key, for the ``Message-ID``)."""
    report = built.report
    msg = EmailMessage()
    msg["Subject"] = report.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(date_s, localtime=False)
    msg["Message-ID"] = message_id(key, sender)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Cxpulse-Digest"] = key
    msg.set_content(report.plain_text())
    msg.add_alternative(render_html(report), subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)
    for chart in report.images():
        html_part.add_related(chart.png, maintype="image", subtype="png",
                              cid=f"<{chart.cid}>", filename=f"{chart.cid.split('@')[0]}.png")
    for att in built.attachments:
        msg.add_attachment(att.data, maintype=att.maintype, subtype=att.subtype,
                           filename=att.filename)
    return msg


def send(msg: EmailMessage, cfg: SmtpConfig, to: tuple[str, ...]) -> dict[str, str]:
    """Hand ``msg`` to the configured server (blocking); raises when nobody accepted it.
    Returns the recipients the server refused while it accepted others (not retried: the
    others have it already)."""
    password = cfg.password()
    with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_s) as smtp:
        smtp.ehlo()
        if cfg.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if cfg.user:
            if not cfg.starttls and cfg.host not in LOOPBACK:
                raise RuntimeError("smtp.user: refusing to send the password in clear text; "
                                   "set smtp.starttls = true")
            smtp.login(cfg.user, password)
        refused = smtp.send_message(msg, from_addr=cfg.sender, to_addrs=list(to))
    return {addr: f"{code} {text!r}" for addr, (code, text) in refused.items()}
