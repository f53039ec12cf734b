"""Quality and completeness checks of layer versions (质量校验), their reports, county submissions."""
