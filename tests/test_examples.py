"""The runnable examples keep running."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_directory_rules_example_shows_each_refusal():
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "directory_rules.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "default profile 'client'" in result.stdout
    assert result.stdout.count("refused (") == 3
    assert "last active main contact" in result.stdout
