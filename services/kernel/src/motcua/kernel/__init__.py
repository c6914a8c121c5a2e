"""The shared runtime every motcua service imports.

Pure modules (no gRPC, Kafka or psycopg): ``errors``, ``context``, ``access`` (who may do
what: each RPC's role policy, agency scope and ownership checks), ``text`` (Vietnamese
folded for search), ``blobstore`` (documents' bytes), ``client_address`` (who is calling,
by network address: one rule behind trusted proxies).
Infrastructure: ``config``, ``logs``, ``tracing``, ``eventstore`` (with ``groupcommit``;
``readmodel`` for tables kept in the events' transactions),
``relay``, ``consumer``, ``kafka``, ``grpc_server``, ``grpc_client``, ``grpc_errors``,
``validation``, ``supervision``, ``faults``, ``keyfiles`` (secret keys in files, keyed
hashes); ``runtime`` runs one service process.
"""
