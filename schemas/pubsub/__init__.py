"""Salesforce's Pub/Sub API wire contract: `pubsub_api.proto` as Salesforce publishes it
(github.com/forcedotcom/pub-sub-api), and the modules grpcio-tools generates from it. sfsim
serves it and the listener's Pub/Sub transport reads it; neither edits the generated code.

Regenerate after changing the proto (from the repository's root):

    .venv/bin/python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. \\
        --grpc_python_out=. schemas/pubsub/pubsub_api.proto
"""
