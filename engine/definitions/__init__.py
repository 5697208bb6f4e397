"""Process and decision definitions: parse, validate, deploy, version."""
