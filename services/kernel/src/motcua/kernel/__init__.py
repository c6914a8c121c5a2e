"""The shared runtime every motcua service imports.

Pure modules (no gRPC, Kafka or psycopg): ``errors``, ``context``.
Infrastructure: ``config``, ``logs``, ``tracing``, ``eventstore``, ``relay``,
``consumer``, ``grpc_server``, ``grpc_errors``, ``kafka``, ``faults``.
"""
