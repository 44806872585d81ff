"""A reporter that keeps talking after its result line."""

import hashlib
import json
import sys
from pathlib import Path

request = json.loads(sys.stdin.readline())
path = request["params"]["output_path"]
Path(path).write_bytes(b"abc")
print(
    json.dumps(
        {
            "type": "result",
            "path": path,
            "mime": "text/plain",
            "bytes": 3,
            "sha256": hashlib.sha256(b"abc").hexdigest(),
        }
    ),
    flush=True,
)
print('{"type":"progress","percent":100,"message":"oh, and another thing"}', flush=True)
