"""A reporter that hangs (and leaves a child in its process group) until killed."""

import subprocess
import sys
from pathlib import Path

sys.stdin.readline()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
Path(sys.argv[1]).write_text(str(child.pid))
print('{"type":"progress","percent":5,"message":"thinking"}', flush=True)
child.wait()
