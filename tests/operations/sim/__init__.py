"""Deterministic simulation of supervision: a virtual-time loop and a fake OS with fake agents.

``vloop`` runs asyncio on virtual time (deadlocks and spinning waits are errors),
``fake_os`` / ``fake_agent`` stand in for agent processes, ``schedules`` generates what
happens to them and when.
"""
