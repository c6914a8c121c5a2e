"""The dossiers service's gRPC servicers: they translate (``motcua.dossiers.convert``)
and call the application. Only the bootstrap imports them."""
