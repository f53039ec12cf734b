"""Rule sets, the check engine, site parsers, stored results, reports, the acceptance gate."""
