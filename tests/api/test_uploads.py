"""Upload abuse on /api/v1/predict: non-image, truncated, 100 MB, decompression bomb → 415/422/413,
fast and with bounded memory; openaiFileIdRefs downloads (https only; the test-only switch lets a
local http server stand in for ChatGPT's file host)."""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from core.api.settings import ApiOptions
from tests.api.conftest import Api, start_api


def png(w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (20, 30, 40)).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(side: int = 30_000) -> bytes:
    """A valid PNG header claiming side×side pixels, compressed rows of zeros (a few hundred KB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (side + 1) * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


@pytest.fixture
def file_host() -> Iterator[tuple[str, dict[str, bytes]]]:
    files: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://10.0.0.1/x.png")
                self.end_headers()
                return
            body = files.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    httpd.shutdown()


async def test_upload_abuse_is_refused_fast_with_bounded_memory(api: Api) -> None:
    async with api.client() as c:
        async def post(data: bytes, name: str = "chart.png") -> tuple[int, str, float]:
            t0 = time.perf_counter()
            r = await c.post("/api/v1/predict", data={"symbol": "SPY"}, files={"file": (name, data, "image/png")})
            return r.status_code, r.json()["error"]["reason"] if r.status_code >= 400 else "", time.perf_counter() - t0

        code, reason, _ = await post(b"%PDF-1.7 this is not an image" * 10)
        assert code == 415 and "not an image" in reason
        code, reason, _ = await post(png()[:60])
        assert code == 422 and ("truncated" in reason or "corrupt" in reason or "read" in reason)
        code, reason, dt = await post(bomb_png())
        assert code == 413 and "pixels" in reason and dt < 2.0
        r = await c.post("/api/v1/predict", json={"symbol": "SPY"})
        assert r.status_code == 400 and r.json()["error"]["field"] == "openaiFileIdRefs"
        r = await c.post("/api/v1/predict", content=b"x", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415

        # 100 MB: refused from Content-Length before the body is read; memory stays flat
        big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (100 * 1024 * 1024)
        tracemalloc.start()
        base, _ = tracemalloc.get_traced_memory()
        code, reason, dt = await post(big)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert code == 413 and "too large" in reason
        # the client holds the 100 MB body itself (and httpx copies it once into the multipart body);
        # the server adds nothing on top: well under three copies
        assert peak - base < 3 * len(big), peak - base
        print(f"100 MB upload: 413 in {dt * 1000:.0f} ms, traced peak {(peak - base) / 2**20:.0f} MiB "
              f"(client-side body included)")


async def test_openai_file_refs_download(isolated_dirs: Path, file_host: tuple[str, dict[str, bytes]]) -> None:
    host, files = file_host
    files["/chart.png"] = b"<html>not a png</html>"
    files["/big.png"] = b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024)
    ref = {"name": "chart.png", "id": "file-1", "mime_type": "image/png"}
    # default options: plain http (and loopback) links are refused
    kernel, server, url = await start_api()
    api = Api(kernel, server, url)
    try:
        async with api.client() as c:
            r = await c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": f"{host}/chart.png"}]})
            assert r.status_code == 400 and "https" in r.json()["error"]["reason"]
            r = await c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": "https://127.0.0.1/chart.png"}]})
            assert r.status_code == 400 and "private" in r.json()["error"]["reason"]
    finally:
        await server.stop()
        await kernel.stop()
    kernel, server, url = await start_api(ApiOptions(test_only_allow_http_loopback_downloads=True,
                                                     max_upload_bytes=1024 * 1024, rate_per_s=100, burst=100))
    api = Api(kernel, server, url)
    try:
        async with api.client() as c:
            r = await c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": f"{host}/chart.png"}]})
            assert r.status_code == 415, r.text        # sniffed from the bytes, not the name or mime type
            r = await c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": f"{host}/big.png"}]})
            assert r.status_code == 413
            r = await c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": f"{host}/redirect"}]})
            assert r.status_code == 400 and "https" in r.json()["error"]["reason"]   # no hop to 10.0.0.1
            files["/ok.png"] = png(320, 200)
            r = await asyncio.wait_for(c.post("/api/v1/predict", json={"symbol": "SPY", "openaiFileIdRefs": [
                {**ref, "download_link": f"{host}/ok.png"}]}), 45)
            # the image passed every check and reached the predictor: a forecast, or the predictor's
            # own refusal — never an upload error
            assert r.status_code not in (413, 415), r.text
            if r.status_code == 200:
                assert r.json()["symbol"] == "SPY" and r.json()["prediction_id"] is not None
    finally:
        await server.stop()
        await kernel.stop()
