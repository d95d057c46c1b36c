"""Passwords: production hashes with argon2-cffi's strong defaults. The tests hash with a cheap
hasher (conftest.py); these checks make sure that shortcut stays in the tests."""

import subprocess
import sys

import argon2
from argon2.profiles import RFC_9106_LOW_MEMORY

from cases.settings import PROJECT_DIR
from web import passwords


def test_it_hashes_with_argon2id_and_the_strong_parameters_outside_the_tests():
    # A fresh interpreter imports the module as production does, without the tests' hasher.
    stored = subprocess.run(
        [sys.executable, "-c",
         "from web.passwords import hash_password; print(hash_password('et-langt-kodeord'))"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert argon2.extract_parameters(stored) == RFC_9106_LOW_MEMORY  # id, t=3, 64 MiB, p=4
    assert passwords.verify_password(stored, "et-langt-kodeord")
    assert not passwords.verify_password(stored, "et-andet-kodeord")


def test_its_default_hasher_has_the_strong_parameters():
    hasher = passwords.DEFAULT_HASHER
    assert (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        argon2.Type.ID, 3, 65536, 4)
    assert not passwords.verify_password(None, "et-langt-kodeord")
