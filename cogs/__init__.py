"""Discord-facing commands and views. Thin: they parse, validate and hand over to the job engine."""
