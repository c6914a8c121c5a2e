"""The dossiers service's background loops."""
