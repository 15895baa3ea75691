"""A module that does not import: its first line raises."""
raise RuntimeError("this module refuses to import")
