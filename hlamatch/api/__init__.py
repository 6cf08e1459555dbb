"""The library API: validate, prepare, run, wrap results (what ``hlamatch.X`` exports)."""
