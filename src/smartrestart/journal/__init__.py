"""The journal: the events smartrestart logs (:mod:`.events`) and writing them (:mod:`.writer`)."""
