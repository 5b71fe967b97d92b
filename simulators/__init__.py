"""Wire-level simulators of OpenAI, ElevenLabs and Notion for offline development, the tests and
the benchmark. Not part of the deployable platform: production settings never import them.

``python -m simulators`` runs the OpenAI/ElevenLabs ones on their own; ``python -m config.server
--simulate-missing-providers`` starts them beside the server (``make run``).
"""
