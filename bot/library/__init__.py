"""The user's library: /find (words and CLIP over their photos), /history, /delete, /groups.

`find` and `groups` gather what storage knows and ask the model worker through the service
layer (operations ``find`` and ``group``); `views` renders texts, `keyboards` the buttons,
`sending` the albums and photo cards."""
