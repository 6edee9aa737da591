"""E-mail intake's pure parts: MIME parsing, claim hints, the metadata contract (the use case is
`chalicelib.services.email_intake`, the bucket adapter `chalicelib.adapters.intake_uploads`)."""
