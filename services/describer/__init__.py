"""The selling text of /describe: result types (result.py) and the local English writer
(local.py + templates.json). The GPT writer is services/models/gpt.py; the operation that
ties tags, caption, writer and translation together is services/operations/describe.py."""
