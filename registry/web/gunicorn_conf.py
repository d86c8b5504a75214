"""gunicorn's settings for the registry: ``gunicorn -c python:registry.web.gunicorn_conf 'registry.web.wsgi:app'``
(options given on the command line win).

A request line longer than gunicorn's limit (8,190 bytes here, its maximum; 4,094 by default) was refused in
plain text, and the connection closed before the rest of the line was read: clients saw it dropped. The
worker below reads what is left of the request (a megabyte at most, for a second at most) and answers a
problem document (414, in French), as the application answers its own errors. A 20,000-character CQL2 filter
does not fit in a request line: the OpenAPI document says so on ``filter``.
"""

from __future__ import annotations

import json
import socket

from gunicorn.http.errors import LimitRequestLine
from gunicorn.workers.gthread import ThreadWorker

#: gunicorn's largest request line (its ``MAX_REQUEST_LINE``).
limit_request_line = 8190
worker_class = "registry.web.gunicorn_conf.Worker"

TOO_LONG = json.dumps({
    "type": "about:blank", "title": "Adresse trop longue", "status": 414,
    "detail": "La ligne de requête dépasse 8 190 octets : raccourcissez le filtre (filter), simplifiez son "
              "polygone ou découpez la requête."}, ensure_ascii=False).encode("utf-8")


class Worker(ThreadWorker):
    """gunicorn's threaded worker (``--threads``, 1 by default), answering an over-long request line as a problem
    document, once the client has sent it."""

    def handle_error(self, req, client, addr, exc):
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        self.log.info("Ligne de requête trop longue de %s : %s", addr, exc)
        try:
            _drain(client)
            client.sendall(b"HTTP/1.1 414 URI Too Long\r\nContent-Type: application/problem+json\r\n"
                           b"Connection: close\r\nContent-Length: " + str(len(TOO_LONG)).encode() + b"\r\n\r\n"
                           + TOO_LONG)
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return None


def _drain(client: socket.socket, budget: int = 1 << 20, seconds: float = 1.0) -> None:
    """Read what the client is still sending of its request (its headers' end, or ``budget`` bytes, or
    ``seconds``): closing with unread bytes resets the connection, and the client never reads the answer."""
    client.settimeout(seconds)
    tail = b""
    while budget > 0:
        try:
            chunk = client.recv(min(65536, budget))
        except OSError:  # a timeout too
            return
        if not chunk:
            return
        budget -= len(chunk)
        joined = tail + chunk
        if b"\r\n\r\n" in joined:
            return
        tail = joined[-3:]
