"""Server-rendered pages: Jinja2 templates under `templates/`, in the reader's language (i18n.py).

This module only gathers what each page shows. Scripts and styles are files under `static/` (served by
`GET /static/{name}`), never inline, so the pages' CSP allows only the app's own scripts (`script-src 'self'`, no
'unsafe-inline'); scripts are ES modules that import `core.js` and read the page's catalogue from a JSON data block.
Links are relative: `root` is "" for pages at the stage root and "../" one level down (`approvals/{token}`,
`claim/{id}`). Browser libraries (package-lock.json) are copied into `static/vendor/` by `make deps` and served by
`GET /static/vendor/{name}`.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import jinja2
from chalice import Response

from chalicelib.web import i18n

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
VENDOR_DIR = STATIC_DIR / "vendor"  # browser libraries from package-lock.json, copied by `make deps`
STATIC_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
VIEWER_ZONE = "Asia/Hong_Kong"  # server-rendered times before the page knows who reads it; scripts use the browser's

def _amount(currency: object, amount: object) -> str:
    """"HKD 1,234.50", as Money prints amounts elsewhere on the page."""
    with contextlib.suppress(InvalidOperation):
        amount = f"{Decimal(str(amount)):,.2f}" if amount not in (None, "") else ""
    return f"{currency or ''} {amount or ''}".strip()


@cache
def _env() -> jinja2.Environment:
    """Autoescaping on for every template: claim content (vendors, descriptions, reasons) is untrusted text."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, auto_reload=False, keep_trailing_newline=False)
    env.filters["money"] = _amount
    # `tojson` writes valid JSON that cannot close a script element (<, >, & and ' as \u escapes); keep non-ASCII
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def _render(name: str, locale: str = i18n.DEFAULT, **context: object) -> str:
    """The template in `locale`: `t(key, **values)`, the `money` and `when` filters, and the catalogue for scripts."""
    return _env().get_template(name).render(
        locale=locale, t=lambda key, **values: i18n.t(locale, key, **values), messages=i18n.messages(locale),
        locales=i18n.LOCALES, format_money=lambda amount, currency: i18n.money(amount, currency, locale),
        format_when=lambda moment, zone=VIEWER_ZONE: i18n.when(moment, zone, locale), **context)


def render(name: str, request, **context: object) -> str:
    """A page in the language the request asks for (the `lang` cookie, else Accept-Language)."""
    return _render(name, i18n.locale_of(request), **context)


def html_response(body: str, status: int = 200) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})


def page(name: str, request, status: int = 200, **context: object) -> Response:
    """A route's whole answer: the template rendered for this request, as HTML."""
    return html_response(render(name, request, **context), status)




@cache
def _assets() -> dict[str, tuple[str, str]]:
    return {path.name: (path.read_text(encoding="utf-8"), STATIC_TYPES[path.suffix])
            for path in STATIC_DIR.iterdir() if path.suffix in STATIC_TYPES}


def static_asset(name: str) -> tuple[str, str] | None:
    """(content, content type) of a file in static/ by its name; None for any other name."""
    return _assets().get(name)


_vendor_cache: dict[str, tuple[str, str]] = {}


def vendor_asset(name: str) -> tuple[str, str] | None:
    """(content, content type) of a browser library in static/vendor/ (copied from node_modules by `make deps`)
    by its name; None for any other name. Only names found by listing the folder are read."""
    if name not in _vendor_cache:
        found = {p.name: p for p in VENDOR_DIR.iterdir() if p.suffix in STATIC_TYPES} if VENDOR_DIR.is_dir() else {}
        if name not in found:
            return None
        _vendor_cache[name] = (found[name].read_text(encoding="utf-8"), STATIC_TYPES[found[name].suffix])
    return _vendor_cache[name]
