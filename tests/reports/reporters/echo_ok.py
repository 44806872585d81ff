"""A minimal correct third-party reporter: writes the segment count as text."""

import hashlib
import json
import os
import sys

request = json.loads(sys.stdin.readline())
path = request["params"]["output_path"]
data = f"{len(request['segments'])} segments\n".encode()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data)
os.close(fd)
print('{"type":"progress","percent":50,"message":"counted"}', flush=True)
print(
    json.dumps(
        {
            "type": "result",
            "path": path,
            "mime": "text/plain",
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    ),
    flush=True,
)
