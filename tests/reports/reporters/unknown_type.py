"""A reporter that prints valid JSON of an unknown type."""

import sys

sys.stdin.readline()
print('{"type":"celebrate","confetti":true}', flush=True)
