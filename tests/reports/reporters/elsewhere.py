"""A reporter that writes (and claims) a file other than the one it was asked for."""

import hashlib
import json
import sys
from pathlib import Path

request = json.loads(sys.stdin.readline())
path = Path(request["params"]["output_path"]).with_name("somewhere-else.txt")
path.write_bytes(b"abc")
print(
    json.dumps(
        {
            "type": "result",
            "path": str(path),
            "mime": "text/plain",
            "bytes": 3,
            "sha256": hashlib.sha256(b"abc").hexdigest(),
        }
    ),
    flush=True,
)
