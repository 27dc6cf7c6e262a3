"""The library's search core, pure (no aiogram, no SQL): how text is normalised and stemmed
for the full-text index (`text`), which words each kind of stored result contributes
(`result_texts`), how a query is scored against a user's image embeddings (`vectors`), and
how the lexical and the vector rankings are fused (`fusion`). The SQL lives in
bot/storage/search_queries.py; the model calls in services/operations/library.py."""
