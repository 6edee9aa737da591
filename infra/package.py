"""`python -m infra.package --stage STAGE [--out DIR]`: the deployable SAM template and its code bundle.

Steps (nothing here talks to AWS; pip downloads Linux wheels from the package index):

1. Stage a Chalice project in build/.chalice-src: app.py, chalicelib/, the generated .chalice/config.json, the
   Step Functions task handlers as `vendor/functions/` (Chalice copies vendor/ to the root of deployment.zip,
   so `functions.approval_tasks.*` resolve in the same bundle), and requirements.txt without the OCR-only
   packages (they ship in the extraction container image, infra/Dockerfile.extraction; see infra/template.py).
   Chalice caches the built bundle in build/.chalice-src/.chalice/deployments, pip caches wheels in build/.cache.
2. `chalice package --merge-template` with the template from infra/template.py (built from infra/resources.py).
3. Post-process (infra.template.finalize), check sizes against Lambda's limits.
4. The gates, each of which fails the step: the residency guard (infra/residency.py: every data resource in
   ap-east-1, the SES receiving stack the one declared exception), cfn-lint, the Guard policy rules and the
   plain-secrets check (infra/policy.py, suppressions justified in infra/policy/suppressions.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # noqa: S404 - runs chalice and cfn-lint from this venv, fixed argument lists
import sys
import zipfile
from pathlib import Path

from infra import policy, residency, ses_receiving, web_vendor
from infra import resources as r
from infra import template as t

ROOT = r.ROOT
BUILD = ROOT / "build"
SRC = BUILD / ".chalice-src"
PIP_CACHE = BUILD / ".cache" / "pip"
ZIP_UNZIPPED_LIMIT = 250 * 1024 * 1024  # Lambda: deployment package (and layers), unzipped
ZIP_UPLOAD_LIMIT = 50 * 1024 * 1024  # Lambda: direct zip upload (larger zips deploy through S3, as SAM does)

# Requirements that only the OCR function needs: between these markers in requirements.txt, plus the packages
# that no Lambda code imports but whose wheels cannot run on the zip runtime (checked by tests/integration).
EXTRACTION_BEGIN = "# --- extraction"
EXTRACTION_END = "# --- end extraction"
IMAGE_ONLY_PACKAGES = frozenset({"scikit-learn"})
# Copied into the staged Chalice project (Chalice itself picks up app.py, chalicelib/ and vendor/).
APP_FILES = ("app.py",)
APP_DIRS = ("chalicelib",)
VENDOR_PACKAGES = ("functions",)


def requirement_name(line: str) -> str:
    return re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0].lower()


def zip_requirements(text: str) -> str:
    """requirements.txt for the zip bundle: the extraction section and IMAGE_ONLY_PACKAGES removed."""
    out, skipping = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(EXTRACTION_END):
            skipping = False
            continue
        if stripped.startswith(EXTRACTION_BEGIN):
            skipping = True
            continue
        is_requirement = bool(stripped) and not stripped.startswith("#")
        if skipping or (is_requirement and requirement_name(stripped) in IMAGE_ONLY_PACKAGES):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo"))}


def stage_project(stages: list[str]) -> Path:
    """(Re)create the staged Chalice project; keeps Chalice's deployment cache between runs."""
    SRC.mkdir(parents=True, exist_ok=True)
    for name in (*APP_FILES, *APP_DIRS, "vendor", "requirements.txt"):
        target = SRC / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name in APP_FILES:
        shutil.copy2(ROOT / name, SRC / name)
    web_vendor.ensure()  # the pages' browser libraries (package-lock.json) travel in chalicelib/web/static/vendor/
    for name in APP_DIRS:
        shutil.copytree(ROOT / name, SRC / name, ignore=_ignore)
    for name in VENDOR_PACKAGES:
        shutil.copytree(ROOT / name, SRC / "vendor" / name, ignore=_ignore)
    (SRC / "requirements.txt").write_text(zip_requirements((ROOT / "requirements.txt").read_text("utf-8")), "utf-8")

    chalice_dir = SRC / ".chalice"
    chalice_dir.mkdir(exist_ok=True)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text("utf-8"))
    if config != r.chalice_config():
        raise SystemExit(".chalice/config.json is stale: run `python -m infra.resources > .chalice/config.json`")
    (chalice_dir / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    # The config names a policy file per stage (autogen_policy false). Chalice turns it into the policy of each
    # function role, and the merge template replaces that policy with the per-function least-privilege one, so
    # the file only has to exist; it grants nothing.
    for stage in stages:
        policy_file = config["stages"][stage].get("iam_policy_file")
        if policy_file:
            placeholder = {"Version": "2012-10-17", "Statement": [
                {"Sid": "ReplacedByMergeTemplate", "Effect": "Deny", "Action": "*", "Resource": "*"}]}
            (chalice_dir / policy_file).write_text(json.dumps(placeholder, indent=2), "utf-8")
    return SRC


def _prune_deployment_cache(keep: str) -> None:
    """Chalice keys its cached bundle by a hash of requirements + code: drop the stale ones."""
    cache = SRC / ".chalice" / "deployments"
    for old in cache.glob("*.zip"):
        if old.name != keep:
            old.unlink()


def _chalice() -> list[str]:
    script = Path(sys.executable).parent / "chalice"
    if script.exists():
        return [str(script)]
    found = shutil.which("chalice")
    if not found:
        raise SystemExit("chalice is not installed in this environment")
    return [found]


def run_chalice(stage: str, merge_template: Path, out: Path) -> None:
    env = {**os.environ, "AWS_DEFAULT_REGION": r.REGION, "PIP_CACHE_DIR": str(PIP_CACHE)}
    cmd = [*_chalice(), "package", "--stage", stage, "--merge-template", str(merge_template), str(out)]
    proc = subprocess.run(cmd, cwd=SRC, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or "Could not install dependencies" in output:
        raise SystemExit(f"chalice package failed ({proc.returncode}):\n{output}")
    deployments = sorted((SRC / ".chalice" / "deployments").glob("*.zip"), key=lambda p: p.stat().st_mtime)
    if deployments:
        _prune_deployment_cache(deployments[-1].name)


def bundle_sizes(path: Path) -> dict[str, int]:
    with zipfile.ZipFile(path) as zf:
        unzipped = sum(info.file_size for info in zf.infolist())
    return {"zipped": path.stat().st_size, "unzipped": unzipped}


IMPORT_PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
module, _, attr = sys.argv[2].rpartition(".")
try:
    target = getattr(importlib.import_module(module), attr)
    print(json.dumps({"ok": callable(target), "error": None if callable(target) else "not callable"}))
except Exception as exc:  # reported to the caller, which decides
    print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
"""


def function_handlers(template: dict) -> dict[str, tuple[str, str]]:
    """CloudFormation function id -> (package type, handler) for every Lambda in the packaged template."""
    found = {}
    for logical, resource in template["Resources"].items():
        if resource.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        props = resource["Properties"]
        if props.get("PackageType") == "Image":
            found[logical] = ("Image", props["ImageConfig"]["Command"][0])
        else:
            found[logical] = ("Zip", props["Handler"])
    return found


def import_handler(code_dir: Path, handler: str, site_packages: bool, env: dict[str, str]) -> dict:
    """Import `handler` in a fresh interpreter whose path is `code_dir` (+ this venv's packages if asked).

    Zip functions get `-S` (no site-packages: only what is in the bundle, plus the standard library, as in
    Lambda). The image function is probed with this venv's packages, which are what its Dockerfile installs
    (the same requirements.txt, on the same glibc family as the image's Debian base).
    """
    flags = ["-I"] if site_packages else ["-I", "-S"]
    proc = subprocess.run(  # noqa: S603
        [sys.executable, *flags, "-c", IMPORT_PROBE, str(code_dir), handler],
        cwd=code_dir, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"ok": False, "error": (proc.stderr or proc.stdout).strip()[-2000:]}


def check_handlers(out: Path, stage: str, code_dir: Path | None = None) -> dict[str, dict]:
    """Unpack deployment.zip and import every function's handler from it; returns {function id: result}."""
    template = json.loads((out / "sam.json").read_text("utf-8"))
    code_dir = code_dir or out / ".import-check"
    if code_dir.exists():
        shutil.rmtree(code_dir)
    with zipfile.ZipFile(out / "deployment.zip") as zf:
        zf.extractall(code_dir)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_DEFAULT_REGION": r.REGION, "LANG": "C.UTF-8",
           **{k: v for k, v in r.lambda_environment(stage).items()}}
    results = {}
    for logical, (kind, handler) in function_handlers(template).items():
        results[logical] = {"handler": handler, "package": kind,
                            **import_handler(code_dir, handler, site_packages=kind == "Image", env=env)}
    return results


def run_cfn_lint(template: Path, region: str = r.REGION) -> tuple[int, str]:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    ignored = policy.cfn_lint_ignored(policy.load_suppressions())
    cmd = [str(cfn_lint) if cfn_lint.exists() else "cfn-lint", "--regions", region,
           *(["--ignore-checks", *ignored] if ignored else []), "--", str(template)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def package(stage: str, out: Path | None = None, lint: bool = True) -> dict:
    out = (out or BUILD / stage).resolve()
    stage_project([stage])
    merge_path = SRC / f"merge-template-{stage}.json"
    merge_path.write_text(json.dumps(t.build(stage), indent=2, ensure_ascii=False), "utf-8")
    if out.exists():
        shutil.rmtree(out)
    run_chalice(stage, merge_path, out)

    sam_path = out / "sam.json"
    final = t.finalize(json.loads(sam_path.read_text("utf-8")), stage, os.path.relpath(ROOT, out))
    sam_path.write_text(json.dumps(final, indent=2, ensure_ascii=False) + "\n", "utf-8")
    shutil.copy2(merge_path, out / "merge-template.json")

    sizes = bundle_sizes(out / "deployment.zip")
    if sizes["unzipped"] > ZIP_UNZIPPED_LIMIT:
        raise SystemExit(f"deployment.zip is {sizes['unzipped']} bytes unzipped; the limit is {ZIP_UNZIPPED_LIMIT}")
    report = {"template": str(sam_path), "bundle": str(out / "deployment.zip"), "sizes": sizes,
              "images": {name: {"dockerfile": dockerfile, "parameter": parameter, "functions": list(functions)}
                         for name, (dockerfile, parameter, functions) in t.IMAGES.items()}}
    report["handlers"] = check_handlers(out, stage)
    shutil.rmtree(out / ".import-check", ignore_errors=True)
    ses_path = out / "ses-receiving.json"  # the one stack outside ap-east-1 (see infra/ses_receiving.py)
    ses_template = ses_receiving.build(stage)
    ses_path.write_text(json.dumps(ses_template, indent=2) + "\n", "utf-8")
    report["ses_template"] = str(ses_path)
    residency.check(stage, {"main": (final, r.REGION), "ses-receiving": (ses_template, r.SES_RECEIVING_REGION)})
    report["residency"] = "ok"
    report["policy"] = gate_policy(final, ses_template)
    if lint:
        for key, path, region in (("cfn_lint", sam_path, r.REGION),
                                  ("cfn_lint_ses", ses_path, r.SES_RECEIVING_REGION)):
            code, text = run_cfn_lint(path, region)
            report[key] = {"exit_code": code, "output": text}
            # cfn-lint's exit code is a bit field: 2 errors, 4 warnings, 8 informational
            if code & 2:
                raise SystemExit(f"cfn-lint found errors in {path}:\n{text}")
    return report


def gate_policy(*templates: dict) -> dict:
    """Guard rules and the secrets check on each template; SystemExit on an unexcused finding or a plain secret."""
    suppressions = policy.load_suppressions()
    reports = [policy.check(template, suppressions) for template in templates]
    failures = [f for rep in reports for f in rep["guard_failures"]]
    secrets = [s for rep in reports for s in rep["plain_secrets"]]
    if failures or secrets:
        lines = [f"{f['rule']} {f['resource']}: {f['message']}" for f in failures] + secrets
        raise SystemExit("policy checks failed (fix, or justify in infra/policy/suppressions.json):\n  "
                         + "\n  ".join(lines))
    used_anywhere = [e for e in suppressions["guard"] if all(e in rep["stale_suppressions"] for rep in reports)]
    return {"guard_findings": sum(rep["guard_findings"] for rep in reports), "suppressed": len(suppressions["guard"]),
            "stale_suppressions": used_anywhere}


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", required=True, choices=[s for s in r.STAGES if s != "local"])
    parser.add_argument("--out", type=Path, default=None, help="output directory (default build/<stage>)")
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    args = parser.parse_args(argv)
    report = package(args.stage, args.out, lint=not args.no_lint)
    sizes = report["sizes"]
    print(f"template:   {report['template']}")
    print(f"ses stack:  {report['ses_template']} (deploy in {r.SES_RECEIVING_REGION}; then activate the rule set)")
    print(f"zip bundle: {report['bundle']} ({_mb(sizes['zipped'])} zipped, {_mb(sizes['unzipped'])} unzipped; "
          f"limit {_mb(ZIP_UNZIPPED_LIMIT)} unzipped)")
    if sizes["zipped"] > ZIP_UPLOAD_LIMIT:
        print(f"            over {_mb(ZIP_UPLOAD_LIMIT)} zipped: deploy it through S3 (sam deploy does)")
    for image in report["images"].values():
        print(f"image:      {', '.join(image['functions'])} from {image['dockerfile']} "
              f"(template parameter {image['parameter']}; build and push it before deploying)")
    failed = {k: v for k, v in report["handlers"].items() if not v["ok"]}
    for logical, result in report["handlers"].items():
        status = "ok" if result["ok"] else f"FAILED: {result['error']}"
        print(f"handler:    {logical:<18} {result['package']:<5} {result['handler']:<45} {status}")
    print(f"residency:  {report['residency']} (every data resource in {r.REGION}; SES receiving in "
          f"{r.SES_RECEIVING_REGION} is the declared exception)")
    pol = report["policy"]
    print(f"policy:     {pol['guard_findings']} Guard findings, all covered by the {pol['suppressed']} justified "
          "suppressions in infra/policy/suppressions.json; no plain secrets")
    for stale in pol["stale_suppressions"]:
        print(f"            stale suppression (matches nothing, remove it): {stale['rule']} {stale['resources']}")
    if "cfn_lint" in report:
        lint = report["cfn_lint"]
        print(f"cfn-lint:   {'clean' if lint['exit_code'] == 0 else 'exit ' + str(lint['exit_code'])}")
        if lint["output"]:
            print(lint["output"])
    if failed:
        print(f"\n{len(failed)} handler(s) cannot be imported from their bundle: the package is not deployable.",
              file=sys.stderr)
        if any("PIL" in v["error"] or "faster_paddle" in v["error"] for v in failed.values()):
            print("The zip bundle has no OCR packages (they ship in the extraction image), but importing app.py "
                  "pulls them in through chalicelib/extraction/__init__.py; import extract_document and "
                  "parse_textract_response there lazily (module __getattr__).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
