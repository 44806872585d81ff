"""The team store: many machines' ledgers in one PostgreSQL (DESIGN §15, docs/team.md).

``schema`` applies the SQL migrations, ``admin`` creates roles and registers hosts,
``sync`` ships a data root's ledger, checkpoints and review files, ``service`` runs the
shipper inside Operations.
"""
