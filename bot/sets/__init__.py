"""Sets (catalogues): photos sent together become one set with one message, and one action
runs over all of them (issue 18).

`collector.py` groups arriving photos into sets (and `admission.py` bounds what is stored);
what the set's keyboard offers comes from the operations' specs
(bot/ops); `runner.py` runs an action
over a set, `feeding.py` feeds its jobs to the fair queue progressively, `progress.py` keeps
its one progress message, `delivery.py` sends albums, the summary and the ZIP (`archive.py`).
Nothing is imported here: the modules here import `bot.keyboards`, which must not load them.
"""
