"""A signing-in reverse proxy for the browser tests, as a deployment's proxy is (SHISN_AUTH=header): it listens on a
loopback port, forwards every request to the app and sets the identity header on each one, the websocket upgrade
included (a browser's own extra headers do not reach the websocket handshake: Playwright 1.65 with Chromium 150 drops
them there, so the app saw nobody signed in).

    with IdentityProxy(app_base, "X-Forwarded-Email", "mo@example.org") as base:
        page.goto(base + "/national")

Each request head from the browser is rewritten (any header of that name the browser sent is replaced); bodies are
passed through by Content-Length; after a websocket upgrade both directions are piped unchanged."""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit


class IdentityProxy:
    def __init__(self, upstream: str, header: str, value: str):
        u = urlsplit(upstream)
        self.up_host, self.up_port = u.hostname, u.port
        self.header, self.value = header, value
        self.base = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the identity proxy did not start")
        return self.base

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:  # connections still open (the browser's keep-alives, a websocket): close them
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

    def _rewrite(self, head: bytes) -> bytes:
        lines = head.decode("latin-1").split("\r\n")
        name = self.header.lower()
        kept = [ln for ln in lines[1:] if ln and ln.split(":", 1)[0].strip().lower() != name]
        return "\r\n".join([lines[0], *kept, f"{self.header}: {self.value}", "", ""]).encode("latin-1")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.up_host, self.up_port)
        except OSError:
            writer.close()
            return
        back = asyncio.ensure_future(self._pipe(up_reader, writer))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                up_writer.write(self._rewrite(head))
                fields = {
                    ln.split(":", 1)[0].strip().lower(): ln.split(":", 1)[1].strip()
                    for ln in head.decode("latin-1").split("\r\n")[1:]
                    if ":" in ln
                }
                if fields.get("upgrade", "").lower() == "websocket":
                    await self._pipe(reader, up_writer)
                    break
                length = int(fields.get("content-length", "0") or 0)
                if length:
                    up_writer.write(await reader.readexactly(length))
                await up_writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            up_writer.close()
            back.cancel()
            await asyncio.gather(back, return_exceptions=True)
            writer.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            try:
                dst.close()
            except RuntimeError:
                pass
