"""A reporter that writes the file but lies about its hash."""

import json
import sys
from pathlib import Path

request = json.loads(sys.stdin.readline())
path = request["params"]["output_path"]
Path(path).write_bytes(b"abc")
print(
    json.dumps(
        {"type": "result", "path": path, "mime": "text/plain", "bytes": 3, "sha256": "0" * 64}
    ),
    flush=True,
)
