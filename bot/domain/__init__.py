"""The vocabulary of the core: items, refs, events, settings, schedules, kinds and rules."""
