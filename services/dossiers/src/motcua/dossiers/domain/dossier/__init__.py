"""The dossier aggregate (``aggregate``) and the rules it is made of: processing, closing,
attachments."""
