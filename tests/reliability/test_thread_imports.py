"""No helper thread imports a module while the main thread may be importing too.

A Ctrl-C that lands while two threads import at once can leave Python's import lock held (in CPython's
module-lock cleanup) and hang the run for good; a review reproduced it with `new cluster` a few times in
a thousand interrupts. gitops-kit's helper threads (commit, renders) therefore only run
code whose modules the main thread imported first. This runs the real commands in a fresh interpreter
and lists every import made off the main thread."""

from __future__ import annotations

import json
import subprocess
import sys

WATCH = """
import json, os, sys, threading
if os.environ.get("WATCH_WITH_A_THREAD"):  # a library caller's thread: new cluster does not fork then
    threading.Thread(target=threading.Event().wait, daemon=True).start()
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is not threading.main_thread():
            seen.append([threading.current_thread().name, name])
        return None
sys.meta_path.insert(0, Watch())
from gitops_kit.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "seen": seen}))
"""


def run(args: list[str], env: dict) -> dict:
    result = subprocess.run([sys.executable, "-c", WATCH, *args], capture_output=True, text=True, env=env, timeout=300)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_new_cluster_and_validate_import_nothing_off_the_main_thread(tmp_path):
    import os

    env = {**os.environ, "GITOPS_KIT_CACHE_DIR": str(tmp_path / "cache"), "GITOPS_KIT_KEY_DIR": str(tmp_path / "keys")}
    for name in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        env[name] = "Test"
    for name in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        env[name] = "test@example.org"
    fleet = tmp_path / "fleet"
    created = run(["new", "cluster", "c-001", "--repo", str(fleet), "--no-input"], env)
    assert created == {"code": 0, "seen": []}
    # no fork (another thread runs): the render happens here, the commit still on a thread of its own
    in_process = run(["new", "cluster", "c-001", "--repo", str(tmp_path / "fleet-2"), "--no-input"], {**env, "WATCH_WITH_A_THREAD": "1"})
    assert in_process == {"code": 0, "seen": []}
    validated = run(["validate", "--quiet", str(fleet)], {**env, "GITOPS_KIT_CACHE_DIR": str(tmp_path / "cache-2")})
    assert validated == {"code": 0, "seen": []}
