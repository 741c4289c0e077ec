"""The wheel a hospital installs carries the prompts and the safety lexicons."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


def test_wheel_ships_prompts_and_lexicons(tmp_path: Path) -> None:
    # Build from a copy, so the build's own files never land in (or race on) the work tree.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    # Every data folder is declared: setuptools has nothing to warn about (it used to print a
    # screen of "package would be ignored" for safety/data, prompts/zh and the console's files).
    assert "would be ignored" not in built.stderr
    assert "SetuptoolsDeprecationWarning" not in built.stderr
    [wheel] = tmp_path.glob("careline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lang in ("zh", "en"):
        for template in ("system", "disclaimer", "emergency", "llm_unavailable", "buttons"):
            assert f"prompts/{lang}/{template}.txt" in names
    lexicons = {n for n in names if n.startswith("safety/data/")}
    assert lexicons == {
        f"safety/data/{p.name}" for p in (ROOT / "safety" / "data").iterdir() if p.is_file()
    }
    assert "bot/cli.py" in names and "adapters/terminal/channel.py" in names
    # The pages served from the package: the staff console's and the web chat's.
    for folder in ("bot/console/static", "adapters/webchat/static"):
        shipped = {n for n in names if n.startswith(folder + "/")}
        assert shipped == {f"{folder}/{p.name}" for p in (ROOT / folder).iterdir() if p.is_file()}
    assert "prompts/zh/webchat_page.txt" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "careline = bot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
