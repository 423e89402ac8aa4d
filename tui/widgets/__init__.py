"""The designer's widgets: each renders part of the Plan and posts messages."""
