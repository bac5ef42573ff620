"""Start-up time: `python -c "import plugboard"` and `plugboard --help`, beside `python -c pass`
measured in the same run (the interpreter's own start), and what `plugboard.connect(url)` imports.

Median wall time of 15 runs each, after one warm-up run (so the file cache is warm, as it is for
a command someone runs twice). Targets: `import plugboard` ≤ 150 ms, `plugboard --help` ≤ 300 ms;
a remote client imports none of SQLAlchemy, Alembic, cryptography, FastAPI, Starlette, Authlib
or argon2.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 15
IMPORT_TARGET_MS = 150.0
HELP_TARGET_MS = 300.0
HEAVY = ("sqlalchemy", "alembic", "cryptography", "fastapi", "starlette", "authlib", "argon2")
PLUGBOARD_CLI = str(Path(sys.executable).with_name("plugboard"))

REMOTE_IMPORTS = f"""
import sys, plugboard
plugboard.connect("http://127.0.0.1:9", token="t")
print(",".join(m for m in {HEAVY!r} if m in sys.modules))
"""


def median_ms(command: list[str]) -> float:
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    baseline = median_ms([sys.executable, "-c", "pass"])
    imported = median_ms([sys.executable, "-c", "import plugboard"])
    helped = median_ms([PLUGBOARD_CLI, "--help"])
    heavy = subprocess.run(
        [sys.executable, "-c", REMOTE_IMPORTS], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"python -c pass               {baseline:7.1f} ms  (baseline)")
    print(f"python -c 'import plugboard' {imported:7.1f} ms  ({imported / baseline:.1f}x baseline)")
    print(f"plugboard --help             {helped:7.1f} ms  ({helped / baseline:.1f}x baseline)")
    print(f"connect(url) imports         {heavy or 'none of ' + ', '.join(HEAVY)}")
    missed = []
    if imported > IMPORT_TARGET_MS:
        missed.append(f"import plugboard {imported:.0f} ms > {IMPORT_TARGET_MS:.0f} ms")
    if helped > HELP_TARGET_MS:
        missed.append(f"plugboard --help {helped:.0f} ms > {HELP_TARGET_MS:.0f} ms")
    if heavy:
        missed.append(f"a remote client imports {heavy}")
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
