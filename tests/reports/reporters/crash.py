"""A reporter that dies with a traceback before answering."""

import sys

sys.stdin.readline()
sys.stderr.write("Traceback (most recent call last):\nRuntimeError: boom in the reporter\n")
sys.exit(3)
