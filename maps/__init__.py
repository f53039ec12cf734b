"""Map pages: the blueprint browser, project locating, applicant preview, result pages."""
