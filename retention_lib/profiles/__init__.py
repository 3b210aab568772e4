"""User profiles from behaviour and text, and what the text adds (chapters 05 and 06).

- :mod:`.embeddings`: sentence embeddings of review texts (the packaged MiniLM), cached by content;
- :mod:`.user_profiles`: a customer's profile at a cutoff: behaviour, what their reviews say, topics, segments;
- :mod:`.text_value`: the ablation that measures what the reviews add to a retention model, with its statistics;
- :mod:`.controls`: the controls of that falsification (placebo reading, count-only features, a canary).
"""
