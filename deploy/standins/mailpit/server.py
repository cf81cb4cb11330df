#!/usr/bin/env python3
"""Catch mail over SMTP and show it over HTTP: the mailpit stand-in's server (started by ``/mailpit``).

It speaks mailpit's interface as far as the tests and a developer reading the catch need it:

  SMTP  MP_SMTP_BIND_ADDR (0.0.0.0:1025), no authentication, any sender and recipient
  HTTP  MP_UI_BIND_ADDR (0.0.0.0:8025):
        GET    /api/v1/messages?start=&limit=   newest first: total, count, start, messages[]
        GET    /api/v1/search?query=            the same, for messages whose text holds the words
        GET    /api/v1/message/<ID>             one message: From, To, Subject, Date, Text, HTML
        GET    /api/v1/message/<ID>/raw         the message as received
        DELETE /api/v1/messages                 delete all (or {"IDs": [...]})
        GET    /livez, /readyz                  200 while serving
        GET    /                                a plain HTML list of the messages

Messages live in memory, at most MP_MAX_MESSAGES (oldest dropped first), as mailpit keeps them
without a database file.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import os
import threading
import uuid
from datetime import UTC, datetime
from email.utils import getaddresses, parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

MESSAGES: list[dict] = []  # newest last
LOCK = threading.Lock()
MAX_MESSAGES = int(os.environ.get("MP_MAX_MESSAGES", "500") or 0)


def split_address(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "0.0.0.0", int(port or default_port)  # nosec B104 - a container listens on its own interfaces


def address(pair: tuple[str, str]) -> dict:
    return {"Name": pair[0], "Address": pair[1]}


def store(raw: bytes, envelope_from: str, envelope_to: list[str]) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = html_body = ""
    for part in message.walk() if message.is_multipart() else [message]:
        if part.get_content_maintype() == "multipart" or part.get_filename():
            continue
        if part.get_content_type() == "text/plain" and not text:
            text = part.get_content()
        elif part.get_content_type() == "text/html" and not html_body:
            html_body = part.get_content()
    sender = parseaddr(str(message.get("From", envelope_from)))
    record = {
        "ID": uuid.uuid4().hex,
        "MessageID": str(message.get("Message-ID", "")).strip("<>"),
        "From": address(sender),
        "To": [address(a) for a in getaddresses([str(v) for v in message.get_all("To", [])])]
        or [address(("", a)) for a in envelope_to],
        "Cc": [address(a) for a in getaddresses([str(v) for v in message.get_all("Cc", [])])],
        "Bcc": [],
        "Subject": str(message.get("Subject", "")),
        "Created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "Size": len(raw),
        "Read": False,
        "Tags": [],
        "Attachments": 0,
        "Snippet": " ".join(text.split())[:250],
        "Text": text,
        "HTML": html_body,
        "Raw": raw,
    }
    with LOCK:
        MESSAGES.append(record)
        if MAX_MESSAGES > 0:
            del MESSAGES[:-MAX_MESSAGES]


class SMTPHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        store(envelope.original_content or envelope.content, envelope.mail_from, list(envelope.rcpt_tos))
        return "250 OK"


SUMMARY = (
    "ID",
    "MessageID",
    "From",
    "To",
    "Cc",
    "Bcc",
    "Subject",
    "Created",
    "Size",
    "Read",
    "Tags",
    "Attachments",
    "Snippet",
)


def listing(records: list[dict], query: dict[str, list[str]]) -> dict:
    start = int(query.get("start", ["0"])[0] or 0)
    limit = int(query.get("limit", ["50"])[0] or 50)
    newest_first = list(reversed(records))
    page = newest_first[start : start + limit]
    return {
        "total": len(records),
        "unread": sum(not r["Read"] for r in records),
        "count": len(page),
        "messages_count": len(records),
        "start": start,
        "tags": [],
        "messages": [{key: r[key] for key in SUMMARY} for r in page],
    }


class HTTPHandler(BaseHTTPRequestHandler):
    server_version = "mailpit-standin"

    def log_message(self, format: str, *args: object) -> None:
        if not self.path.endswith("z"):  # no line per health probe
            super().log_message(format, *args)

    def reply(self, status: int, body: object, content_type: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def find(self, message_id: str) -> dict | None:
        with LOCK:
            return next((r for r in MESSAGES if r["ID"] == message_id), None)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        with LOCK:
            records = list(MESSAGES)
        if url.path in ("/livez", "/readyz"):
            self.reply(200, "ok", "text/plain")
        elif parts == ["api", "v1", "messages"]:
            self.reply(200, listing(records, query))
        elif parts == ["api", "v1", "search"]:
            words = query.get("query", [""])[0].lower().split()
            found = [r for r in records if all(w in f"{r['Subject']} {r['Text']} {r['From']}".lower() for w in words)]
            self.reply(200, listing(found, query))
        elif len(parts) in (4, 5) and parts[:3] == ["api", "v1", "message"]:
            record = self.find(parts[3])
            if record is None:
                self.reply(404, "message not found", "text/plain")
            elif len(parts) == 5 and parts[4] == "raw":
                self.reply(200, record["Raw"], "text/plain")
            elif len(parts) == 4:
                record["Read"] = True
                body = {key: value for key, value in record.items() if key not in ("Raw", "Created", "Snippet")}
                self.reply(200, {**body, "Date": record["Created"]})
            else:
                self.reply(404, "not found", "text/plain")
        elif url.path == "/":
            rows = "".join(
                f"<tr><td>{html.escape(r['Created'])}</td><td>{html.escape(r['From']['Address'])}</td>"
                f"<td>{html.escape(r['Subject'])}</td></tr>"
                for r in reversed(records)
            )
            page = (
                f"<!doctype html><title>Mailpit stand-in</title><h1>{len(records)} messages</h1><table>{rows}</table>"
            )
            self.reply(200, page, "text/html; charset=utf-8")
        else:
            self.reply(404, "not found", "text/plain")

    def do_DELETE(self) -> None:
        if urlsplit(self.path).path != "/api/v1/messages":
            self.reply(404, "not found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            ids = json.loads(self.rfile.read(length) or b"{}").get("IDs") or []
        except (ValueError, AttributeError):
            self.reply(400, 'the body must be JSON: {"IDs": [...]}', "text/plain")
            return
        with LOCK:
            MESSAGES[:] = [r for r in MESSAGES if ids and r["ID"] not in ids]
        self.reply(200, "ok", "text/plain")


def serve() -> None:
    smtp_host, smtp_port = split_address(os.environ.get("MP_SMTP_BIND_ADDR", "0.0.0.0:1025"), 1025)
    http_host, http_port = split_address(os.environ.get("MP_UI_BIND_ADDR", "0.0.0.0:8025"), 8025)
    controller = Controller(SMTPHandler(), hostname=smtp_host, port=smtp_port)
    controller.start()
    print(f"mailpit stand-in: SMTP on {smtp_host}:{smtp_port}, HTTP on {http_host}:{http_port}", flush=True)
    ThreadingHTTPServer((http_host, http_port), HTTPHandler).serve_forever()
