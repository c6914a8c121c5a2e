"""The dossiers service's gRPC servicers: they translate (``convert``) and call the application."""
