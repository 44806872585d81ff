"""A reporter that declines politely with an error line."""

import sys

sys.stdin.readline()
print('{"type":"error","message":"no segments to bill"}', flush=True)
sys.exit(1)
