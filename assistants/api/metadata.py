"""What an API endpoint answers to OPTIONS."""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class EndpointMetadata(SimpleMetadata):
    """DRF's description of the view (name, description, renders, parses) without "actions".

    DRF describes POST/PUT bodies by calling ``view.get_serializer()``, which needs one
    ``serializer_class`` per view. These views name their input and output serializers per
    method instead (for the OpenAPI schema), so OPTIONS with a key failed on every view with a
    POST or PUT: an AssertionError, a 500. The bodies are documented in /api/v1/schema/.
    """

    def determine_actions(self, request, view) -> dict:
        return {}
