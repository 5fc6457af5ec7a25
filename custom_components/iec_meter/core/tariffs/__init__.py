"""Spanish access tariffs: the period of every hour, and what a profile costs.

No Home Assistant import and no protocol: a calendar (:mod:`.calendar`) built from the
regulation's tables (:mod:`.tables_es`), and pure cost functions (:mod:`.cost`,
:mod:`.excess`) that the ``tariff`` command, ``read --tariff`` and the Home Assistant
cost statistics share.
"""
