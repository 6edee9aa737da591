"""The security headers of every API response (pages, JSON, errors): one place, applied by app.py's middleware.

Approval links carry their token in the URL, so no Referer may leak it; claim data must not stay in shared or
proxy caches; the pages run only the app's own script and style files and cannot be framed.
"""

from __future__ import annotations


def content_security_policy(upload_origin: str) -> str:
    """`upload_origin`: the uploads bucket's S3 endpoint, where pages POST receipts with presigned forms and show
    receipt images from presigned GETs; `blob:` is a photo's preview before it is uploaded."""
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' {upload_origin} blob:",
        f"connect-src 'self' {upload_origin}",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ))


def headers(upload_origin: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(upload_origin),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


NO_STORE = "no-store"  # the default Cache-Control: responses carry claim data unless a route says otherwise
