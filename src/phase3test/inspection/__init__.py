"""What a database holds, read from the catalog: the schema as a comparable snapshot, table contents as
multisets, materialized views and how they refresh."""
