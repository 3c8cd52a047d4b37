"""sfsim's HTTPS front: OAuth and SOAP login, REST, Bulk API 2.0, CometD, and the admin API."""
