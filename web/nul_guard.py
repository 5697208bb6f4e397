"""Refuse text with NUL characters at the door, for every route.

No field of the product can hold U+0000: PostgreSQL refuses it in text and jsonb columns (a database error in
the middle of a command), SQLite stores it but C-based tools cut the text there. So a request whose path, query
or JSON / form body carries one is answered 422 before any route reads it, the same on both databases.
Multipart bodies are left alone: an uploaded UTF-16 model has NUL bytes by design, and XML parsing refuses
NUL characters in the decoded text itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON \u0000 escape is one preceded by an even number of backslashes ("\\u0000" is a backslash and "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MESSAGE = "text must not contain NUL characters (U+0000)"


def _has_nul(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        return "query"
    return None


def _body_kind(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or media.endswith(b"+json"):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
    return None


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _has_nul(scope)
        if where is not None:
            await _refuse(send, where)
            return
        kind = _body_kind(scope)
        if kind is None:
            await self.app(scope, receive, send)
            return
        messages, body = [], b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if (_JSON_NUL.search(body) if kind == "json" else b"%00" in body) or b"\x00" in body:
            await _refuse(send, "body")
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, where: str) -> None:
    body = json.dumps({"detail": f"{_MESSAGE}: in the {where}"}).encode()
    await send({"type": "http.response.start", "status": 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
