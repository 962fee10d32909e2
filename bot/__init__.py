"""raidline's platform-neutral core: it imports no chat platform, database or scheduler library."""
