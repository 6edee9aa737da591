"""The one moto version the local shims are written against.

harness/lambda_shim.py and harness/dynamodb_shim.py replace moto internals (private methods whose names and
signatures change between releases). Patching another version could fail silently or, worse, half-work, so each
shim refuses to install on anything but the version it was written for.
"""

from __future__ import annotations

PINNED = "5.2.5"  # also pinned in requirements-dev.txt


class UnsupportedMoto(RuntimeError):
    pass


def require(shim: str) -> None:
    import moto

    if moto.__version__ != PINNED:
        raise UnsupportedMoto(
            f"{shim} patches moto {PINNED} internals but moto {moto.__version__} is installed: "
            f"install moto=={PINNED} (requirements-dev.txt) or port {shim} to the new version first"
        )
