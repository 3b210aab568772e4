"""The book's machinery: what turns notebooks into a book, and knows nothing of retention.

- :mod:`.params`: the profiles (``profiles.yaml``) and the checks on every parameter;
- :mod:`.runner`: runs the notebooks with papermill into a profile's folder, and reads back what they glued;
- :mod:`.build`: the Jupyter Book from the executed notebooks;
- :mod:`.session`: what every notebook does first and last (seeds, glue, timers, the provenance record);
- :mod:`.workshop`: the participants' kit of a workshop.

The method (every other package of :mod:`retention_lib`) never imports this package; it may import
:mod:`retention_lib.base`, the ground floor both wings share.
"""
