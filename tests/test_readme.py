"""The README's walkthrough works when pasted: its shell blocks, run as they are written, against a
hub set up as ``./run demo`` sets it up (``hub demo``, then ``hub serve``).

The blocks of the "Try it" section run in one bash with ``set -euo pipefail``, from a directory
whose ``.venv/bin/hub`` is the hub under test, so a line that fails — a 4xx from ``curl -f``, a
token that is not where the README reads it, a command that does not exist — fails the test. The
one line changed is the hub's address: the test's server listens on a free port, not on 8000.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.live import LiveHubs, hub_executable

README = Path(__file__).resolve().parent.parent / "README.md"
DEFAULT_ADDRESS = "export HUB=http://127.0.0.1:8000"


def walkthrough() -> list[str]:
    """The ``sh`` blocks of the README's "Try it" section, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index("### Try it")
    section = text[start : text.index("\n#", start + 1)]  # up to the next heading
    return re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)


def test_the_walkthrough_has_the_steps_a_newcomer_takes() -> None:
    script = "\n".join(walkthrough())
    assert script.count(DEFAULT_ADDRESS) == 1
    for step in (
        "hub demo",
        "/api/v1/search",
        "/api/v1/verify",
        "hub verify",
        "/sharing/plan",
        "/applications",
    ):
        assert step in script, step
    assert "curl -s " not in script, "every curl fails on an HTTP error (-f), or a 404 body lands in a file"
    assert not re.search(r"^\w+=\S+\s+#", script, flags=re.MULTILINE), "a variable set on a comment's line"


def test_the_walkthrough_runs_as_pasted(live_hubs: LiveHubs, tmp_path: Path) -> None:
    hub = live_hubs.server()
    hub.cli("demo")  # what ./run demo does before it serves
    hub.start()
    work = tmp_path / "checkout"
    (work / ".venv" / "bin").mkdir(parents=True)
    (work / ".venv" / "bin" / "hub").symlink_to(hub_executable())
    script = "\n".join(walkthrough()).replace(DEFAULT_ADDRESS, f"export HUB={hub.url}")

    done = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=work,
        env=hub.environment(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, (
        f"exit {done.returncode}\nstderr:\n{done.stderr[-3000:]}\nstdout:\n{out[-3000:]}"
    )
    assert "Traceback" not in done.stderr
    # What each step shows a newcomer: hits, a valid certificate online and offline, the plan, the
    # application completed with its certificate, the rating.
    assert '"total"' in out or '"results"' in out
    assert out.count('"result": "valid"') >= 3, out[-3000:]  # the PDF, the code, and hub verify offline
    assert '"one_thing": "OT-NEWBORN"' in out
    assert '"status": "completed"' in out
    assert '"score": 5' in out
    assert (work / "cert.pdf").read_bytes()[:5] == b"%PDF-"
