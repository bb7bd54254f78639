"""The REST API of the grant domain (/api/v1/): serializers, filters, views, errors and schema hooks."""
