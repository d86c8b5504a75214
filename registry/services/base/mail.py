"""Mail out through SMTP (``REGISTRY_SMTP_URL``: ``smtp://host:port``, ``smtp+starttls://user:password@host:587``
or ``smtps://…``); a failure is raised as ``MailError`` with a French message, never swallowed."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses
from urllib.parse import unquote, urlsplit

#: Every character that breaks a line somewhere: CR, LF, VT, FF, the file/group/record separators, NEL (U+0085),
#: the line and paragraph separators (U+2028, U+2029) — ``str.splitlines``' set. None may reach a header: a CR/LF
#: there made ``EmailMessage`` raise (a 500 after the invitation was stored, the campaign stopped midway).
LINE_BREAKS = re.compile("[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def header_text(value: str) -> str:
    """A header's value on one line: each run of line breaks becomes a space, spaces squeezed."""
    return " ".join(LINE_BREAKS.sub(" ", value or "").split())


def single_address(value: str) -> str:
    """``value`` when it is exactly one e-mail address (``a@x, b@evil`` is two: ``MailError``)."""
    value = header_text(value)
    found = getaddresses([value], strict=True)
    if len(found) != 1 or not found[0][1] or "@" not in found[0][1] or any(c in value for c in ",;"):
        raise MailError(f"« {value} » n'est pas une adresse électronique unique.")
    try:
        Address(addr_spec=found[0][1])
    except (ValueError, IndexError) as exc:
        raise MailError(f"« {value} » n'est pas une adresse électronique valide ({exc}).") from None
    return found[0][1]


class MailError(Exception):
    """A message that could not be sent (the reason in French)."""


def send(smtp_url: str, sender: str, to: str, subject: str, body: str, timeout: float = 10) -> None:
    """Send a plain-text message; ``MailError`` when no server is configured or the server refuses it."""
    if not smtp_url:
        raise MailError("Aucun serveur d'envoi configuré (REGISTRY_SMTP_URL).")
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtp+starttls", "smtps") or not url.hostname:
        raise MailError(f"REGISTRY_SMTP_URL : smtp://, smtp+starttls:// ou smtps:// attendu, pas « {url.scheme}:// ».")
    to = single_address(to)
    try:
        message = EmailMessage()
        message["From"], message["To"] = single_address(sender), to
        message["Subject"] = header_text(subject)
        message.set_content(body)
    except (ValueError, TypeError) as exc:  # a header the email package refuses: this message fails, alone
        raise MailError(f"Message pour {to} impossible à composer : {exc}.") from None
    try:
        if url.scheme == "smtps":
            client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(url.hostname, url.port or 25, timeout=timeout)
        with client:
            if url.scheme == "smtp+starttls":
                client.starttls(context=ssl.create_default_context())
            if url.username:
                client.login(unquote(url.username), unquote(url.password or ""))
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"Envoi à {to} impossible : {exc}.") from None
