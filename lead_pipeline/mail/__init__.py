"""Email core: raw message sources, MIME parsing and body cleaning (no Dagster here).

* :mod:`lead_pipeline.mail.sources` - ``iter_raw_messages`` over .eml files, folders, mbox, Maildir;
* :mod:`lead_pipeline.mail.mime` - ``parse_mime``: raw bytes -> the MailParse §1 message dict;
  ``add_derived_fields``: reply text, signature, language, hashes of it; ``parse_message``: both
  (``parse_many``: the same for many messages, batch by batch, optionally on worker processes);
* :mod:`lead_pipeline.mail.fastpath` - the fast path ``mime`` takes when it can (the stdlib's rules on
  raw bytes, fast-mail-parser for base64);
* :mod:`lead_pipeline.mail.parts` - the part model both parsers produce, and the stdlib parser;
* :mod:`lead_pipeline.mail.clean` - reply text / signature / quoted history, hashing, language.
"""
