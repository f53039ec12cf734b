"""One Blueprint (一张蓝图): the Django project — settings, URLs, errors and system checks."""
