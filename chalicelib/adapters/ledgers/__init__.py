"""Clients of the ledgers a company books approved claims into. Each adapter builds the vendor's payload from
one ledger-neutral Posting (chalicelib.domain.ledger_mapping), validates it against the vendor's published
schema before sending, and never posts a claim twice (see port.py)."""
