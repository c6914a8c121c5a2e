"""python -m motcua.gateway: the HTTP gateway in front of the gRPC services."""

from .app import main

main()
