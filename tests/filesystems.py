"""Real small or read-only filesystems for tests of full disks: a tmpfs mounted over a folder (needs root and
the right to mount; the test is skipped where that is not allowed)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest


@contextlib.contextmanager
def small_filesystem(path, size: str = "64k", *, read_only: bool = False):
    """Mount a ``size`` tmpfs (read-only with ``read_only``) over the folder ``path`` for the block's duration."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small filesystem needs root")
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)
