"""The layer registry: districts, control lines, imagery, project sites; versions; importers; CRS."""
