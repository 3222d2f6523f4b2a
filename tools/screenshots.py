"""Screenshots of the web pages for docs/screenshots/: a demo hub as the README's first command
makes it (``hub demo`` then ``hub serve``, on a temporary data directory and a free loopback port),
driven by Debian's chromium through Playwright, at desktop width (1280) and phone width (390).

    .venv/bin/python tools/screenshots.py            # writes docs/screenshots/*.png
    .venv/bin/python tools/screenshots.py --out DIR

Needs the test dependencies (``requirements-test.lock``: Playwright) and ``/usr/bin/chromium``
(``apt-get install chromium``). The browser reaches the hub and nothing else, as in the browser
tests. PNGs are reduced to a 256-colour palette to keep them small.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from PIL import Image
from playwright.sync_api import Page, Route, ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
HUB = Path(sys.executable).with_name("hub")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [  # as tests/web/browser.py starts it
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
GUIDE = "/guide/OT-NEWBORN?hukou=elsewhere&mother_insured=no"  # the newborn checklist (一次告知)
WAIT_MS = 60_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def demo_hub() -> Iterator[tuple[str, dict[str, object]]]:
    """``hub demo`` and ``hub serve`` on a fresh data directory: its URL and what ``hub demo`` printed."""
    with tempfile.TemporaryDirectory(prefix="hub-screenshots-") as data:
        url = f"http://127.0.0.1:{free_port()}"
        env = os.environ | {"HUB_DATA_DIR": data, "HUB_PUBLIC_URL": url}
        env.pop("HUB_DATABASE_URL", None)
        printed = subprocess.run([HUB, "demo"], env=env, check=True, capture_output=True, text=True).stdout
        port = urlsplit(url).port
        server = subprocess.Popen(
            [HUB, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(url, server)
            yield url, json.loads(printed)
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit(f"hub serve exited ({server.returncode})")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"hub serve did not answer at {url}")


def example_pdf(url: str, demo: dict[str, object]) -> bytes:
    """The example certificate's sealed PDF, fetched with its issuing department's token."""
    example = demo["example_certificate"]
    tokens = demo["tokens"]
    assert isinstance(example, dict) and isinstance(tokens, dict)
    r = httpx.get(
        str(example["file"]), headers={"Authorization": f"Bearer {tokens['department']}"}, timeout=60
    )
    r.raise_for_status()
    return r.content


def save(page: Page, out: Path, name: str, *, full_page: bool = False) -> None:
    png = page.screenshot(full_page=full_page, animations="disabled", caret="hide")
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    image.save(out / f"{name}.png", optimize=True)
    print(f"{out / name}.png {image.width}x{image.height}")


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/signin?next=/me")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的")


def verify_upload(page: Page, url: str, pdf: Path) -> None:
    page.goto(f"{url}/verify")
    page.get_by_label("电子证照文件（PDF）").set_input_files(pdf)
    page.get_by_role("button", name="核验文件").click()
    expect(page.locator("#answer-title")).to_contain_text("有效")


def shoot(url: str, out: Path, pdf: Path) -> None:
    hub_origin = urlsplit(url).netloc

    def only_the_hub(route: Route) -> None:
        parts = urlsplit(route.request.url)
        if parts.netloc == hub_origin or parts.scheme in ("data", "blob"):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            shots: list[tuple[ViewportSize, Callable[[Page], None]]] = [
                (DESKTOP, lambda page: desktop(page, url, out, pdf)),
                (PHONE, lambda page: phone(page, url, out, pdf)),
            ]
            for viewport, take in shots:
                context = browser.new_context(locale="zh-CN", viewport=viewport, service_workers="block")
                context.route("**/*", only_the_hub)
                context.set_default_timeout(WAIT_MS)
                try:
                    take(context.new_page())
                finally:
                    context.close()
        finally:
            browser.close()


def desktop(page: Page, url: str, out: Path, pdf: Path) -> None:
    page.goto(f"{url}/")
    save(page, out, "home")
    page.goto(f"{url}/?q=出生")
    save(page, out, "search")
    verify_upload(page, url, pdf)
    save(page, out, "verify")
    sign_in(page, url)
    save(page, out, "me")
    page.goto(f"{url}{GUIDE}")
    expect(page.get_by_text("已有（免提交）").first).to_be_visible()
    page.get_by_role("heading", name="一次告知：需要办理的事项和材料").scroll_into_view_if_needed()
    save(page, out, "guide")
    page.goto(f"{url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    save(page, out, "docs")


def phone(page: Page, url: str, out: Path, pdf: Path) -> None:
    page.goto(f"{url}/")
    save(page, out, "phone-home")
    sign_in(page, url)
    page.goto(f"{url}{GUIDE}")
    expect(page.get_by_text("已有（免提交）").first).to_be_visible()
    page.get_by_role("heading", name="一次告知：需要办理的事项和材料").scroll_into_view_if_needed()
    save(page, out, "phone-guide")
    verify_upload(page, url, pdf)
    save(page, out, "phone-verify")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where the PNGs go")
    args = parser.parse_args()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"screenshots: needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_hub() as (url, demo), tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "证照.pdf"
        pdf.write_bytes(example_pdf(url, demo))
        shoot(url, args.out, pdf)


if __name__ == "__main__":
    main()
