"""partwright command line."""
