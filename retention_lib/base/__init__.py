"""The ground floor both wings share: pinned external files, the processor to compute on, the checks on
a table's columns, the metrics and intervals, and the labels and figure types a reader sees.

- :mod:`.assets`: every external file (data, model), pinned by package, version and hash, fetched once;
- :mod:`.cache`: content-addressed files (a result stored under the hash of what it was computed from);
- :mod:`.devices`: the best torch device and the machine in words;
- :mod:`.tables`: :func:`~.tables.require_columns`, the one check of a table's columns;
- :mod:`.metrics`: binary and multiclass metrics, gains tables, bootstrap intervals;
- :mod:`.names`: the labels a reader sees for the short keys the code uses;
- :mod:`.plots`: the shared figure style and the figure types several chapters draw;
- :mod:`.verdicts`: the words of a comparison (beats, cannot be told apart from), computed from an interval.

Nothing here imports another package of :mod:`retention_lib`.
"""
