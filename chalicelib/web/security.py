"""The security headers of every API response (pages, JSON, errors): one place, applied by app.py's middleware.

Approval links carry their token in the URL, so no Referer may leak it; claim data must not stay in shared or
proxy caches; the pages run only the app's own script and style files and cannot be framed.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def content_security_policy(upload_origin: str, sign_in_origins: tuple[str, ...] = ()) -> str:
    """`upload_origin`: the uploads bucket's S3 endpoint, where pages POST receipts with presigned forms and show
    receipt images from presigned GETs; `blob:` is a photo's preview before it is uploaded. `sign_in_origins`:
    where the sign-in page talks to Cognito (its API endpoint for InitiateAuth; the Hosted UI domain for the code
    exchange at /oauth2/token)."""
    connect = " ".join(("'self'", upload_origin, *sign_in_origins))
    return "; ".join((
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src 'self' {upload_origin} blob:",
        f"connect-src {connect}",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ))


def headers(upload_origin: str, sign_in_origins: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(upload_origin, sign_in_origins),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
        "Referrer-Policy": "no-referrer",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }


def sign_in_origins(cognito_endpoint: str, hosted_ui_domain: str) -> tuple[str, ...]:
    """The origins the sign-in page connects to: Cognito's endpoint, and the Hosted UI's domain where there is one."""
    parts = urlsplit(cognito_endpoint)
    found = [f"{parts.scheme}://{parts.netloc}"] if parts.scheme in ("http", "https") and parts.netloc else []
    if hosted_ui_domain:
        found.append(f"https://{hosted_ui_domain}")
    return tuple(found)


NO_STORE = "no-store"  # the default Cache-Control: responses carry claim data unless a route says otherwise
