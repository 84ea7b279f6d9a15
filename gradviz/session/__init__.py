"""gradviz.session: the document (named tensors, the op log, replay, undo), the console language
and the .gradviz file format. Headless: no Qt here."""
