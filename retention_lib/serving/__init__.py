"""Serving the reading model, and what it costs (chapter 10).

- :mod:`.backends`: one model, several inference backends (eager, compiled, ONNX Runtime, int8), same answers;
- :mod:`.cost`: each backend's speed beside its accuracy, the compute in a review, dollars per million reviews;
- :mod:`.ray_scoring`, :mod:`.distributed`: scoring past one process;
- :mod:`.scale`: user profiles past one process (Ray), the same numbers as one process.
"""
