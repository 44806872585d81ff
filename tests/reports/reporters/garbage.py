"""A reporter that prints something that is not a protocol line."""

import sys

sys.stdin.readline()
print('{"type":"progress","percent":10,"message":"fine so far"}', flush=True)
print("Hello, I am definitely not JSON", flush=True)
