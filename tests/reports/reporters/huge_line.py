"""A reporter that prints one enormous line."""

import sys

sys.stdin.readline()
sys.stdout.write('{"type":"progress","percent":1,"message":"' + "x" * (2 * 1024 * 1024) + '"}\n')
sys.stdout.flush()
