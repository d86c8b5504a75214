"""Mail out through SMTP (``REGISTRY_SMTP_URL``: ``smtp://host:port``, ``smtp+starttls://user:password@host:587``
or ``smtps://…``); a failure is raised as ``MailError`` with a French message, never swallowed."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit


class MailError(Exception):
    """A message that could not be sent (the reason in French)."""


def send(smtp_url: str, sender: str, to: str, subject: str, body: str, timeout: float = 10) -> None:
    """Send a plain-text message; ``MailError`` when no server is configured or the server refuses it."""
    if not smtp_url:
        raise MailError("Aucun serveur d'envoi configuré (REGISTRY_SMTP_URL).")
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtp+starttls", "smtps") or not url.hostname:
        raise MailError(f"REGISTRY_SMTP_URL : smtp://, smtp+starttls:// ou smtps:// attendu, pas « {url.scheme}:// ».")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
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
