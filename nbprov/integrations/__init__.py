"""Framework integrations: ``nbprov.integrations.lightning``, ``.transformers`` and ``.keras``.

Each is imported on its own (it imports its framework); ``import nbprov`` imports none of them.
"""
