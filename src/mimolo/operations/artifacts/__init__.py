"""Artifacts of one instance (DESIGN §10): inventory, archive, restore, two-step purge.

``inventory`` keeps an index of the instance's ``artifacts/`` and totals it; ``archive``
writes a verified zip + manifest under ``archives/``; ``listing`` lists and finds them;
``restore`` puts an archive back through ``mimolo.safe_zip``, never over a different file
silently; ``purge`` plans and executes deletions with tombstones (``tombstones``).
Nothing here ever deletes on its own: only an executed, confirmed plan does.
"""
