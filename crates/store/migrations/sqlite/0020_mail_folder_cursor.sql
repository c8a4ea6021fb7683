-- R-GRAPH-25: a mail source that resumes from a link of its own (Microsoft
-- Graph's per-folder messages @odata.deltaLink) keeps it beside the IMAP
-- position; NULL for IMAP folders. (Numbered 0020: this branch's number.)
ALTER TABLE mail_folders ADD COLUMN cursor TEXT;
