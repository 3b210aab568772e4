"""Your shop (chapter 12): the book's method on a shop's own purchases and reviews.

- :mod:`.files`: the column map a user writes (which of their columns is the customer, the date,
  the amount, the text), and the shop's files read and checked with errors in the user's own terms
  (their file, their column name, the line, the value); nothing is silently dropped or coerced;
- :mod:`.demo`: a demo shop: a linked world exported as CSV files with other column names and
  day-first dates, so the mapping is shown at work and the truth behind the files is known.
"""

from .demo import export_demo_shop
from .files import ColumnMap, ShopError, load_shop, read_column_map, read_shop_table

__all__ = ["ColumnMap", "ShopError", "read_column_map", "read_shop_table", "load_shop", "export_demo_shop"]
