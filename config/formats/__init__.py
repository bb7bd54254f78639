"""Per-language number formats (settings.FORMAT_MODULE_PATH); anything not set here falls back to Django's locale."""
