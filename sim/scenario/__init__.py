"""Scenario files: loading and ``extends`` layering (:mod:`.loading`), the schema (:mod:`.schema` and its
treatment and economics parts) and parameters with their distributions (:mod:`.parameters`)."""
