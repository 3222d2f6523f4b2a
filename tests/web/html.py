"""Reading the pages as a browser would: their scripts, forms and text (html.parser, no regexes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    lang: str | None = None
    scripts: list[dict[str, str | None]] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    inline_styles: int = 0  # <style> elements and style="" attributes
    event_handlers: list[str] = field(default_factory=list)  # onclick= …
    inputs: list[dict[str, str | None]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    text: str = ""

    def value(self, name: str) -> str | None:
        """The value of the first input named ``name`` (a hidden CSRF token, a prefilled field)."""
        for attrs in self.inputs:
            if attrs.get("name") == name:
                return attrs.get("value")
        return None


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in_script = False
        self._script_has_src = False
        self._script_text: list[str] = []
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.page.lang = a.get("lang")
        if tag == "script":
            self.page.scripts.append(a)
            self._in_script, self._script_has_src, self._script_text = True, bool(a.get("src")), []
        if tag == "style":
            self.page.inline_styles += 1
        if "style" in a:
            self.page.inline_styles += 1
        self.page.event_handlers += [k for k in a if k.startswith("on")]
        if tag in ("input", "select", "textarea", "button"):
            self.page.inputs.append({"tag": tag, **a})
        if tag == "a" and a.get("href"):
            self.page.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            if not self._script_has_src or "".join(self._script_text).strip():
                self.page.inline_scripts.append("".join(self._script_text))
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self._script_text.append(data)
        else:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = " ".join(" ".join(self._text).split())


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


def assert_no_inline_script(html: str) -> Page:
    """The page as read, after checking it runs nothing the CSP would block (script-src 'self')."""
    page = read(html)
    assert page.inline_scripts == [], page.inline_scripts
    assert page.event_handlers == [], page.event_handlers
    assert page.inline_styles == 0, "inline style (style-src 'self')"
    for script in page.scripts:
        assert str(script.get("src", "")).startswith("/static/"), script
    return page
