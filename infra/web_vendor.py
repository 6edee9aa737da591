"""The browser libraries the pages serve, from package-lock.json: copied out of node_modules/ into
chalicelib/web/static/vendor/ (git-ignored, generated), where `GET /static/vendor/{name}` serves them and the
deploy bundle (which copies chalicelib/) carries them. No CDN: the CSP allows only the app's own scripts.

package.json's `browserFiles` names each served file and its path under node_modules/. `make deps` runs
`npm ci` (the exact versions of package-lock.json) and then `python -m infra.web_vendor`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = ROOT / "chalicelib" / "web" / "static" / "vendor"


class VendorFilesMissing(SystemExit):
    """Raised (as SystemExit, with a message saying what to run) when a browser file cannot be found."""


def browser_files(root: Path = ROOT) -> dict[str, str]:
    """{served name: path under node_modules/} from package.json."""
    return json.loads((root / "package.json").read_text("utf-8"))["browserFiles"]


def missing(root: Path = ROOT, vendor_dir: Path | None = None) -> list[str]:
    """The served names not (yet) in the vendor folder."""
    vendor_dir = vendor_dir or root / VENDOR_DIR.relative_to(ROOT)
    return [name for name in browser_files(root) if not (vendor_dir / name).is_file()]


def copy(root: Path = ROOT, vendor_dir: Path | None = None) -> list[Path]:
    """Copy every browser file from node_modules/ into the vendor folder; fails clearly if npm ci has not run."""
    vendor_dir = vendor_dir or root / VENDOR_DIR.relative_to(ROOT)
    files = browser_files(root)
    absent = [rel for rel in files.values() if not (root / "node_modules" / rel).is_file()]
    if absent:
        raise VendorFilesMissing(f"node_modules/ lacks {', '.join(absent)}: run `make deps` "
                                 "(npm ci --ignore-scripts installs the versions in package-lock.json)")
    vendor_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for name, rel in files.items():
        shutil.copyfile(root / "node_modules" / rel, vendor_dir / name)
        out.append(vendor_dir / name)
    return out


def ensure(root: Path = ROOT, vendor_dir: Path | None = None) -> None:
    """For packaging: fresh copies from node_modules/ when it is there, else the files already copied, else a
    clear error saying `make deps` makes them."""
    try:
        copy(root, vendor_dir)
    except VendorFilesMissing:
        if missing(root, vendor_dir):
            raise


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    for path in copy():
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
