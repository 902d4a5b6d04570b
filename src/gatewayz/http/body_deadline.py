"""The body timeout as an ASGI layer, for servers whose protocol has none (granian).

uvicorn gets it in ``gatewayz.http.protocol``, at no cost to the app. Here, a read of the
request body still pending ``seconds`` after the app was called fails with
``IncompleteBody``, which the error boundary answers with a 408 (with the request id, in
the route family's shape); reads after the body has arrived in full are left alone, so a
long streamed response (which listens for the client going away) is never cut.
"""

from __future__ import annotations

import asyncio

from gatewayz.errors import IncompleteBody
from gatewayz.http.requestid import ASGIApp, Message, Receive, Scope, Send


class BodyDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        self.message = f"the request body did not arrive within {seconds:g} s of its headers"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_done = False

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                body_done = True
                raise IncompleteBody(self.message) from None
            body_done = not message.get("more_body", False)
            return message

        await self.app(scope, receive_in_time, send)
