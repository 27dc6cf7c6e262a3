"""Publishing to a marketplace (Wildberries first; issue 30): the seller's token kept
encrypted (`tokens`), what an upload would do (`planning`), and the upload as a stored run
that resumes (`runner`). The API client, the article rules, WB's limits and the numbering
are services/publishing (no aiogram there)."""
