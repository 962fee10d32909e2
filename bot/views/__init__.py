"""All wording users read: replies built from the domain objects the use cases return."""
