"""A reporter whose result names the requested file but never writes it."""

import json
import sys

request = json.loads(sys.stdin.readline())
path = request["params"]["output_path"]
print(
    json.dumps(
        {"type": "result", "path": path, "mime": "text/plain", "bytes": 3, "sha256": "0" * 64}
    ),
    flush=True,
)
