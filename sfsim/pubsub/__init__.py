"""sfsim's Pub/Sub API: the same change events as its CometD endpoint, Avro-encoded and served
over gRPC (schemas/pubsub/pubsub_api.proto).
https://developer.salesforce.com/docs/platform/pub-sub-api/guide/intro.html
"""
