"""The command line on a stdout that its reader has closed."""

from __future__ import annotations

import subprocess
import sys


def test_closed_stdout_ends_the_command_quietly_with_status_1() -> None:
    """A reader that stops early (`| head -1`) gets no traceback on stderr."""
    child = subprocess.Popen(
        [sys.executable, "-m", "polling", "strategies"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Closed before the child has imported anything, so its first write fails.
    assert child.stdout is not None
    child.stdout.close()
    _, stderr = child.communicate(timeout=120)

    assert child.returncode == 1
    assert stderr == b""
