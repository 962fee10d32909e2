"""Reading what people type: the option grammar, mentions, refs, dates."""
