"""Package size: the built layer and each function, zipped and unzipped, package by package, without boto3.

The layer is built exactly as ``sam build`` builds it (its Makefile's ``build-SharedLayer`` target, which fetches
python3.13 Linux wheels and drops what the runtime provides), into a temporary directory; ``--layer DIR``
measures an existing build instead (e.g. ``.aws-sam/build/SharedLayer``). Smoke runs measure the same
distributions as installed in this venv (no download). Each distribution is matched against the modules the
functions imported while benchmarked, so a package no function imports stands out.
"""

from __future__ import annotations

import glob
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks import layer
from benchmarks.stack import FUNCTIONS, LAYER_DIR
from local.template import ROOT

ZIP_LIMIT_MB = 15.0
MB = 1024 * 1024


def lambda_python() -> str | None:
    """A Python 3.13 on this machine (the Makefile compiles the layer's bytecode with it), pyenv's included."""
    candidates = [shutil.which("python3.13"), *sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13")))]
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; sys.exit(sys.version_info[:2] != (3, 13))"], capture_output=True)
        if check.returncode == 0:
            return candidate
    return None


def build_layer(target: Path, log: Any) -> Path:
    """Run the layer's Makefile the way ``sam build`` does; returns the artifact directory."""
    log("building the layer with its Makefile (python3.13 wheels for Lambda)...")
    env = {**os.environ, "ARTIFACTS_DIR": str(target), "PYTHON": sys.executable}
    found = lambda_python()
    if found:
        env["LAMBDA_PYTHON"] = found
    subprocess.run(["make", "--no-print-directory", "-C", str(LAYER_DIR), "build-SharedLayer"], env=env, check=True, capture_output=True)
    return target


def _zip_sizes(root: Path, files: Iterable[Path]) -> tuple[int, int]:
    """Bytes unzipped and deflated (as sam zips: ZIP_DEFLATED), with zip headers."""
    raw, buffer = 0, io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            raw += file.stat().st_size
            archive.write(file, file.relative_to(root).as_posix())
    return raw, buffer.getbuffer().nbytes


def _groups_from_build(python_dir: Path) -> dict[str, list[Path]]:
    """Distribution name → its files in a built layer (``python/``), via each ``*.dist-info/RECORD``."""
    groups: dict[str, list[Path]] = {}
    claimed: set[Path] = set()
    for info in sorted(python_dir.glob("*.dist-info")):
        name = layer.normalise(info.name.split("-")[0])
        files = [info / file for file in os.listdir(info)]
        record = info / "RECORD"
        if record.exists():
            for line in record.read_text().splitlines():
                path = python_dir / line.split(",")[0]
                if path.is_file() and path not in claimed:
                    files.append(path)
        files = list(dict.fromkeys(files))  # RECORD lists the dist-info's own files too
        claimed.update(files)
        groups[name] = files
    owner_of_top = {path.relative_to(python_dir).parts[0]: name for name, files in groups.items() for path in files}
    rest = [path for path in python_dir.rglob("*") if path.is_file() and path not in claimed]
    for path in rest:  # bytecode compiled after install (not in RECORD), and our own package
        top = path.relative_to(python_dir).parts[0]
        if top == "__pycache__":  # bytecode of a top-level module such as typing_extensions.py
            top = path.name.split(".")[0] + ".py"
        name = "payment-links (ours)" if top == "payment_links" else owner_of_top.get(top, f"? {top}")
        groups.setdefault(name, []).append(path)
    return groups


def _groups_from_venv() -> dict[str, list[Path]]:
    """The layer's distributions as installed here (this machine's wheels, without bytecode)."""
    groups = {}
    for name, distribution in layer.layer_distributions().items():
        files = [Path(str(distribution.locate_file(file))) for file in distribution.files or []]
        groups[name] = [file for file in files if file.is_file() and "__pycache__" not in file.parts]
    groups["payment-links (ours)"] = list((LAYER_DIR / "payment_links").rglob("*.py"))
    return groups


def _common_root(paths: list[Path]) -> Path:
    return Path(os.path.commonpath([str(p) for p in paths])) if paths else ROOT


def run(imported: dict[str, list[str]], layer_dir: Path | None, build: bool, log: Any) -> dict[str, Any]:
    """``imported``: function → the top-level modules its process held after serving every route."""
    owners = layer.module_owners()
    used_by: dict[str, set[str]] = {}
    for function, modules in imported.items():
        for module in modules:
            if module in owners:
                used_by.setdefault(owners[module], set()).add(function)
    with tempfile.TemporaryDirectory(prefix="bench-layer-") as tmp:
        source, bytecode = "venv", None  # a venv says nothing of the built layer's bytecode
        if layer_dir is not None or build:
            built = layer_dir if layer_dir is not None else build_layer(Path(tmp), log)
            python_dir = built / "python" if (built / "python").is_dir() else built
            groups, source = _groups_from_build(python_dir), str(built if layer_dir is not None else "fresh build")
            bytecode = any(file.suffix == ".pyc" for files in groups.values() for file in files)
        else:
            groups = _groups_from_venv()
        rows = []
        for name, files in sorted(groups.items()):
            unzipped, zipped = _zip_sizes(_common_root(files), files)
            functions = sorted(used_by.get(name, set()))
            if name == "payment-links (ours)":
                functions = sorted(imported)
            rows.append({"package": name, "unzipped_bytes": unzipped, "zipped_bytes": zipped, "imported_by": functions})
        all_files = [file for files in groups.values() for file in files]
        total_unzipped, total_zipped = _zip_sizes(_common_root(all_files), all_files)
    rows.sort(key=lambda row: -row["zipped_bytes"])
    functions = {}
    for function in FUNCTIONS:
        files = sorted((ROOT / "functions" / function).glob("*.py"))  # the function's Makefile copies *.py
        unzipped, zipped = _zip_sizes(ROOT / "functions" / function, files)
        functions[function] = {"unzipped_bytes": unzipped, "zipped_bytes": zipped}
    unused = [row["package"] for row in rows if not row["imported_by"]]
    sizes = f"{total_zipped / MB:.1f} MB zipped, {total_unzipped / MB:.1f} MB unzipped"
    log(f"layer ({source}): {sizes}; imported by no function: {unused or 'none'}")
    return {
        "source": source,
        "layer_zipped_bytes": total_zipped,
        "layer_unzipped_bytes": total_unzipped,
        "zip_limit_mb": ZIP_LIMIT_MB,
        "packages": rows,
        "unused": unused,
        "imports_measured": bool(imported),
        "bytecode": bytecode,
        "functions": functions,
    }
