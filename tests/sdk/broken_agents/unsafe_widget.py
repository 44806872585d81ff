"""Questionable: a widget whose HTML Control's sanitizer would strip (a warning, not a failure)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/, for a plain script run

from sdk.broken_agents.mini_agent import MiniAgent


class UnsafeWidget(MiniAgent):
    widget_html = '<div onclick="steal()"><script>alert(1)</script><p>hi</p></div>'


UnsafeWidget().run()
