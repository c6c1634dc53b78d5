"""What a redirect loads: the Cloud Storage client stays out of the redirect path."""

from __future__ import annotations

import subprocess
import sys

from local import stack

PROGRAM = """
import sys
from functions_framework import create_app

client = create_app("render_http", "main.py").test_client()
answer = client.post("/", json=REQUEST)
assert answer.status_code == 302, answer.get_data(as_text=True)
loaded = sorted(name for name in sys.modules if name.startswith("google.cloud.storage"))
print(",".join(loaded) or "none")
"""


def test_redirect_loads_no_storage_client(ee_server: str, gcs_server: str) -> None:
    request = {
        "expression": {
            "result": "0",
            "values": {
                "0": {
                    "functionInvocationValue": {
                        "functionName": "Image.load",
                        "arguments": {"id": {"constantValue": "USGS/SRTMGL1_003"}},
                    }
                }
            },
        },
        "region": [0, 40, 10, 50],
        "dimensions": 64,
    }
    env = {**stack.function_env(ee_server, gcs_server), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", f"REQUEST = {request!r}\n{PROGRAM}"],
        cwd=stack.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"
