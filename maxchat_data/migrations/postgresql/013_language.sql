-- Each person's language for the app's words (NULL: MAXCHAT_LANGUAGE).
ALTER TABLE agents ADD COLUMN language VARCHAR;
